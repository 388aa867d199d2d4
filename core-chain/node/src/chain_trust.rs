//! Trust taken from chain state: with `p2p.tls_trust_on_chain` (and `api.tls_trust_on_chain`), a 国密
//! TLS endpoint trusts exactly the organisation CAs recorded on chain ([`scf_ledger::org_ca`]: genesis,
//! then governance) and refuses the certificates revoked on chain, on top of its CRL files.
//!
//! [`follow`] re-reads the two records after every committed block and, when they changed, hands the
//! new [`ChainTrust`] to each endpoint: the next handshake uses it, and connections made with a
//! certificate that is now revoked, or whose CA is no longer trusted, are closed at once. A committee
//! vote therefore admits, removes or revokes on every node without a restart and without a file being
//! copied to anyone. A record this node cannot read (it should not happen: governance checks each CA
//! before recording it) is logged and skipped; the rest still apply.

use std::sync::Arc;

use scf_ca::{RevocationReason, RevokedSerials, SmCertificate, TrustStore};
use scf_ledger::org_ca;
use scf_ledger::state::StateRead;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::chain::Chain;

/// The CAs and revocations recorded on chain, as the TLS layer uses them.
#[derive(Clone, Debug, Default)]
pub struct ChainTrust {
    pub store: TrustStore,
    pub revoked: RevokedSerials,
    /// `ORG: subject` of each CA, for logs.
    pub cas: Vec<String>,
}

impl ChainTrust {
    /// Read the records from `state`.
    pub fn read(state: &dyn StateRead) -> Result<Self, String> {
        let mut out = ChainTrust::default();
        for ca in org_ca::org_cas(state).map_err(|e| e.to_string())? {
            let added = SmCertificate::from_der(&ca.der).and_then(|c| out.store.add(c));
            match added {
                Ok(()) => out.cas.push(format!("{}: {}", ca.org, ca.subject)),
                Err(e) => warn!(org = %ca.org, subject = %ca.subject, "on-chain CA skipped: {e}"),
            }
        }
        for r in org_ca::revoked_certs(state).map_err(|e| e.to_string())? {
            let reason = r.reason.parse().unwrap_or(RevocationReason::Unspecified);
            out.revoked.insert(&r.issuer, r.serial, reason);
        }
        Ok(out)
    }
}

/// Make `trust` (and the on-chain half of its revocation check, `chain_revocations`) follow `t`. An
/// empty CA set — no CA recorded any more — keeps the CAs trusted before rather than refuse everyone.
pub(crate) fn apply_to(trust: &scf_gmtls::Trust, chain_revocations: &scf_ca::SharedRevocations, t: &ChainTrust) {
    if t.store.anchors().is_empty() {
        warn!("国密 TLS: no CA is recorded on chain any more; keeping the CAs trusted before");
    } else {
        trust.replace_store(t.store.clone());
    }
    chain_revocations.update(|r| *r = t.revoked.clone());
}

/// An endpoint that takes its trust from chain.
pub trait FollowsChain: Send + Sync + 'static {
    /// Use `trust` from the next handshake on and close what it no longer accepts; returns how many
    /// connections were closed.
    fn apply_chain_trust(&self, trust: &ChainTrust) -> usize;
}

/// Apply the records to `endpoints` now, then after every block that changes them, until aborted.
pub fn follow(chain: Arc<Chain>, endpoints: Vec<Arc<dyn FollowsChain>>) -> JoinHandle<()> {
    let mut commits = chain.subscribe();
    tokio::spawn(async move {
        let mut seen = None;
        loop {
            let stamp = chain.store.latest_state().map_err(|e| e.to_string()).and_then(|s| {
                let stamp = org_ca::stamp(&s).map_err(|e| e.to_string())?;
                if seen.as_ref() == Some(&stamp) {
                    return Ok(None);
                }
                ChainTrust::read(&s).map(|t| Some((stamp, t)))
            });
            match stamp {
                Ok(Some((stamp, trust))) => {
                    if seen.is_some() {
                        info!(cas = %trust.cas.join("; "), revoked = trust.revoked.len(), "国密 TLS: trust re-read from chain");
                    }
                    let closed: usize = endpoints.iter().map(|e| e.apply_chain_trust(&trust)).sum();
                    if closed > 0 {
                        info!(closed, "国密 TLS: connections no longer trusted by the chain's records closed");
                    }
                    seen = Some(stamp);
                }
                Ok(None) => {}
                Err(e) => warn!("国密 TLS: cannot read the CAs recorded on chain: {e}; keeping the trust in use"),
            }
            match commits.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    })
}

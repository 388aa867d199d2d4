//! The mempool: admitted, not yet committed transactions.
//!
//! Admission runs every check a block would (chain id, size, expiry, module, sender, signature, nonce)
//! so a proposer rarely has to drop a transaction. The sender check comes first: a key that is no active
//! account of a member (nor a validator) is refused before its signature costs anything, and
//! [`Executor::admit_sender`] names the organisation it belongs to for the quotas below. Admission and verifies each signature once per node: verified ids are
//! remembered and handed to the executor as `known_valid`, so neither block building nor validating a
//! peer's block verifies them again. Signatures of a batch are verified in parallel on all cores
//! (rayon), outside the pool's lock.
//!
//! Fairness: a block takes transactions round-robin across senders (one per sender per pass, each
//! sender's in nonce order), so one busy sender cannot crowd out the others. Back-pressure: a pool full by
//! count or bytes, an organisation at its quota or a sender at its limit refuses new transactions
//! ([`SubmitError::Full`], [`SubmitError::FullBytes`], [`SubmitError::OrgQuota`],
//! [`SubmitError::SenderLimit`]) instead of growing without bound; one member cannot take the pool from
//! the others.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use scf_ledger::codec::DecodeError;
use scf_ledger::crypto::{Address, Hash32};
use scf_ledger::executor::{account_nonce, chain_params, ApplyError, Executor, TxRejection};
use scf_ledger::state::StateRead;
use scf_ledger::tx::SignedTx;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// Mempool limits (the `[mempool]` section of the node config).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    /// Most transactions held at once; beyond this, submissions get `Full` (HTTP 503).
    pub max_txs: usize,
    /// Most encoded bytes held at once; beyond this, submissions get `FullBytes` (HTTP 503).
    pub max_bytes: usize,
    /// Most pending transactions of one organisation (the quota group the chain's sender policy names:
    /// a member's accounts together, or the validators).
    pub max_txs_per_org: usize,
    /// Most pending bytes of one organisation.
    pub max_bytes_per_org: usize,
    /// Most pending transactions per sender (also how far ahead of the account nonce one may be).
    pub max_per_sender: usize,
    /// How many verified transaction ids to remember.
    pub verified_cache: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 100_000,
            max_bytes: 128 << 20,
            max_txs_per_org: 25_000,
            max_bytes_per_org: 32 << 20,
            max_per_sender: 1_000,
            verified_cache: 400_000,
        }
    }
}

/// Why a transaction was not admitted. Clients can act on each variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("tx: {0}")]
    Decode(#[from] DecodeError),
    #[error("tx: {0}")]
    Rejected(#[from] TxRejection),
    #[error("tx: {tx_id} is already pending")]
    Duplicate { tx_id: Hash32 },
    #[error("nonce: {nonce} of {sender} is taken by pending transaction {existing}")]
    NonceTaken { sender: Address, nonce: u64, existing: Hash32 },
    #[error("sender: {sender} has {limit} pending transactions (the per-sender limit); retry after some commit")]
    SenderLimit { sender: Address, limit: usize },
    #[error("mempool: full ({capacity} transactions); retry later")]
    Full { capacity: usize },
    #[error("mempool: full ({capacity} bytes); retry later")]
    FullBytes { capacity: usize },
    #[error(
        "sender: organisation {org} has {limit_txs} pending transactions or {limit_bytes} pending bytes (its quota); retry after some commit"
    )]
    OrgQuota { org: String, limit_txs: usize, limit_bytes: usize },
    #[error("node: {0}")]
    Internal(String),
}

impl SubmitError {
    /// A stable machine-readable kind for the client API.
    pub fn kind(&self) -> &'static str {
        match self {
            SubmitError::Decode(_) => "decode",
            SubmitError::Rejected(r) => r.kind(),
            SubmitError::Duplicate { .. } => "duplicate",
            SubmitError::NonceTaken { .. } => "nonce_taken",
            SubmitError::SenderLimit { .. } => "sender_limit",
            SubmitError::Full { .. } | SubmitError::FullBytes { .. } => "mempool_full",
            SubmitError::OrgQuota { .. } => "org_quota",
            SubmitError::Internal(_) => "internal",
        }
    }
    /// Whether retrying the same bytes later may succeed (back-pressure rather than a bad transaction).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SubmitError::Full { .. }
                | SubmitError::FullBytes { .. }
                | SubmitError::OrgQuota { .. }
                | SubmitError::SenderLimit { .. }
                | SubmitError::Internal(_)
        )
    }
}

struct PoolTx {
    tx: SignedTx,
    len: usize,
    sender: Address,
    /// The sender's quota group (organisation).
    group: Arc<str>,
    seq: u64,
}

/// What one quota group holds in the pool.
#[derive(Default, Clone, Copy)]
struct Usage {
    txs: usize,
    bytes: usize,
}

#[derive(Default)]
struct Inner {
    txs: HashMap<Hash32, PoolTx>,
    by_sender: HashMap<Address, BTreeMap<u64, Hash32>>,
    /// Pending transactions and bytes per quota group (no entry for an empty group).
    groups: HashMap<Arc<str>, Usage>,
    bytes: usize,
    verified: HashSet<Hash32>,
    verified_order: VecDeque<Hash32>,
    seq: u64,
}

impl Inner {
    fn remember_verified(&mut self, id: Hash32, cap: usize) {
        if self.verified.insert(id) {
            self.verified_order.push_back(id);
            while self.verified_order.len() > cap {
                if let Some(old) = self.verified_order.pop_front() {
                    self.verified.remove(&old);
                }
            }
        }
    }
    fn remove(&mut self, id: &Hash32) -> Option<PoolTx> {
        let p = self.txs.remove(id)?;
        self.bytes -= p.len;
        if let Some(u) = self.groups.get_mut(&p.group) {
            u.txs -= 1;
            u.bytes -= p.len;
            if u.txs == 0 {
                self.groups.remove(&p.group);
            }
        }
        if let Some(m) = self.by_sender.get_mut(&p.sender) {
            m.remove(&p.tx.body.nonce);
            if m.is_empty() {
                self.by_sender.remove(&p.sender);
            }
        }
        Some(p)
    }
}

/// Pending transactions with admission, verified-signature cache and fair selection.
pub struct Mempool {
    cfg: MempoolConfig,
    inner: Mutex<Inner>,
    /// Woken when a transaction is admitted (a proposer waiting for work).
    pub admitted: Notify,
}

/// One transaction to admit: decoded, with its encoded length.
pub struct Candidate {
    pub tx: SignedTx,
    pub len: usize,
}

impl Mempool {
    pub fn new(cfg: MempoolConfig) -> Self {
        Mempool { cfg, inner: Mutex::new(Inner::default()), admitted: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-updated in a way that matters more
        // than stopping the node would; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().txs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn contains(&self, id: &Hash32) -> bool {
        self.lock().txs.contains_key(id)
    }
    /// Whether this node already verified `id`'s signature.
    pub fn is_verified(&self, id: &Hash32) -> bool {
        self.lock().verified.contains(id)
    }
    /// Snapshot of verified ids among `ids` (one lock instead of one per transaction).
    pub fn verified_among(&self, ids: &[Hash32]) -> HashSet<Hash32> {
        let g = self.lock();
        ids.iter().filter(|i| g.verified.contains(i)).copied().collect()
    }

    /// Admit a batch against `state` (the tip's state, whose block time is `tip_time_ms`) for inclusion
    /// from `next_height` on. Returns one result per candidate, in order.
    pub fn admit(
        &self,
        executor: &Executor,
        state: &dyn StateRead,
        next_height: u64,
        tip_time_ms: u64,
        batch: Vec<Candidate>,
    ) -> Vec<Result<Hash32, SubmitError>> {
        let params = match chain_params(state) {
            Ok(p) => p,
            Err(e) => return batch.iter().map(|_| Err(SubmitError::Internal(e.to_string()))).collect(),
        };
        let ids: Vec<Hash32> = batch.par_iter().map(|c| c.tx.id()).collect();
        let known = self.verified_among(&ids);
        // The sender's admission (its organisation) and account nonce, read once per sender of the
        // batch. A sender that is no member's active account, a transaction whose nonce is already used
        // (typically a peer's relay arriving after the block that included it) or one already pending
        // is refused before its signature is verified: that verification would be wasted.
        let mut senders: HashMap<Address, Result<(Arc<str>, u64), SubmitError>> = HashMap::new();
        let mut expected = Vec::with_capacity(batch.len());
        for c in &batch {
            let sender = c.tx.sender_address();
            let n = senders
                .entry(sender)
                .or_insert_with(|| {
                    let group =
                        executor.admit_sender(state, &sender, next_height, tip_time_ms).map_err(|e| match e {
                            ApplyError::Rejected(r) => SubmitError::Rejected(r),
                            ApplyError::State(e) => SubmitError::Internal(e.to_string()),
                        })?;
                    let nonce = account_nonce(state, &sender).map_err(|e| SubmitError::Internal(e.to_string()))?;
                    Ok((Arc::from(group), nonce))
                })
                .clone();
            expected.push((sender, n));
        }
        let pending: Vec<bool> = {
            let g = self.lock();
            ids.iter().map(|id| g.txs.contains_key(id)).collect()
        };
        // Stateless checks and signatures in parallel, outside the lock.
        let pre: Vec<Result<(), SubmitError>> = batch
            .par_iter()
            .zip(ids.par_iter())
            .zip(expected.par_iter().zip(pending.par_iter()))
            .map(|((c, id), ((_, admitted), pending))| {
                let nonce = admitted.as_ref().map_err(Clone::clone)?.1;
                if *pending {
                    return Err(SubmitError::Duplicate { tx_id: *id });
                }
                if c.tx.body.nonce < nonce {
                    return Err(TxRejection::NonceUsed { expected: nonce, got: c.tx.body.nonce }.into());
                }
                executor.check_stateless(&c.tx, c.len, next_height, &params)?;
                if !known.contains(id) {
                    c.tx.verify_signature().map_err(TxRejection::BadSignature)?;
                }
                Ok(())
            })
            .collect();
        let mut out = Vec::with_capacity(batch.len());
        let mut any = false;
        let mut g = self.lock();
        for (((c, id), pre), (sender, admitted)) in batch.into_iter().zip(ids).zip(pre).zip(expected) {
            let r = pre.and_then(|()| {
                g.remember_verified(id, self.cfg.verified_cache);
                let (group, nonce) = admitted?;
                self.insert_checked(&mut g, c, id, sender, group, nonce)
            });
            any |= r.is_ok();
            out.push(r);
        }
        drop(g);
        if any {
            self.admitted.notify_waiters();
            self.admitted.notify_one();
        }
        out
    }

    /// Remember signatures verified elsewhere on this node (a peer's block checked by the executor), so
    /// the same transactions relayed later are not verified again.
    pub fn mark_verified(&self, ids: &[Hash32]) {
        let mut g = self.lock();
        for id in ids {
            g.remember_verified(*id, self.cfg.verified_cache);
        }
    }

    fn insert_checked(
        &self,
        g: &mut Inner,
        c: Candidate,
        id: Hash32,
        sender: Address,
        group: Arc<str>,
        expected: u64,
    ) -> Result<Hash32, SubmitError> {
        if g.txs.contains_key(&id) {
            return Err(SubmitError::Duplicate { tx_id: id });
        }
        let nonce = c.tx.body.nonce;
        if nonce < expected {
            return Err(TxRejection::NonceUsed { expected, got: nonce }.into());
        }
        if nonce >= expected.saturating_add(self.cfg.max_per_sender as u64) {
            return Err(TxRejection::NonceGap { expected, got: nonce }.into());
        }
        let pending = g.by_sender.get(&sender);
        if let Some(existing) = pending.and_then(|m| m.get(&nonce)) {
            return Err(SubmitError::NonceTaken { sender, nonce, existing: *existing });
        }
        if pending.map_or(0, BTreeMap::len) >= self.cfg.max_per_sender {
            return Err(SubmitError::SenderLimit { sender, limit: self.cfg.max_per_sender });
        }
        if g.txs.len() >= self.cfg.max_txs {
            return Err(SubmitError::Full { capacity: self.cfg.max_txs });
        }
        if g.bytes.saturating_add(c.len) > self.cfg.max_bytes {
            return Err(SubmitError::FullBytes { capacity: self.cfg.max_bytes });
        }
        let usage = g.groups.get(&group).copied().unwrap_or_default();
        if usage.txs >= self.cfg.max_txs_per_org || usage.bytes.saturating_add(c.len) > self.cfg.max_bytes_per_org {
            return Err(SubmitError::OrgQuota {
                org: group.to_string(),
                limit_txs: self.cfg.max_txs_per_org,
                limit_bytes: self.cfg.max_bytes_per_org,
            });
        }
        g.seq += 1;
        let seq = g.seq;
        g.bytes += c.len;
        let u = g.groups.entry(group.clone()).or_default();
        u.txs += 1;
        u.bytes += c.len;
        g.by_sender.entry(sender).or_default().insert(nonce, id);
        g.txs.insert(id, PoolTx { tx: c.tx, len: c.len, sender, group, seq });
        Ok(id)
    }

    /// Choose transactions for the next block: per sender, the run of consecutive nonces starting at its
    /// account nonce; across senders, round-robin in order of each sender's oldest pending transaction.
    /// Transactions that can no longer be included (used nonce, expired) are dropped on the way.
    pub fn select(&self, state: &dyn StateRead, height: u64, max_txs: usize, max_bytes: usize) -> Vec<SignedTx> {
        self.select_with_ids(state, height, max_txs, max_bytes).0
    }

    /// [`Self::select`], with the selected transactions' ids (already known to the pool) in the same order.
    pub fn select_with_ids(
        &self,
        state: &dyn StateRead,
        height: u64,
        max_txs: usize,
        max_bytes: usize,
    ) -> (Vec<SignedTx>, Vec<Hash32>) {
        let mut g = self.lock();
        let mut stale = Vec::new();
        let mut queues: Vec<(u64, VecDeque<Hash32>)> = Vec::new();
        for (sender, by_nonce) in &g.by_sender {
            let mut next = account_nonce(state, sender).unwrap_or(0);
            let mut q = VecDeque::new();
            let mut oldest = u64::MAX;
            for (nonce, id) in by_nonce {
                let Some(p) = g.txs.get(id) else { continue };
                if *nonce < next || p.tx.body.expiry_height < height {
                    stale.push(*id);
                    continue;
                }
                if *nonce != next {
                    break;
                }
                oldest = oldest.min(p.seq);
                q.push_back(*id);
                next += 1;
            }
            if !q.is_empty() {
                queues.push((oldest, q));
            }
        }
        for id in stale {
            g.remove(&id);
        }
        queues.sort_by_key(|(oldest, _)| *oldest);
        let mut out = Vec::new();
        let mut out_ids = Vec::new();
        let mut bytes = 0usize;
        'outer: loop {
            let mut progressed = false;
            for (_, q) in queues.iter_mut() {
                let Some(id) = q.front().copied() else { continue };
                let Some(p) = g.txs.get(&id) else {
                    q.clear();
                    continue;
                };
                if out.len() >= max_txs || bytes + p.len > max_bytes {
                    break 'outer;
                }
                bytes += p.len;
                out.push(p.tx.clone());
                out_ids.push(id);
                q.pop_front();
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        (out, out_ids)
    }

    /// Up to `max` pending transactions in wire form, each sender's in nonce order, senders in order
    /// of their oldest pending transaction (what a peer that just joined needs to catch up).
    pub fn pending_raw(&self, max: usize) -> Vec<Vec<u8>> {
        let g = self.lock();
        let mut senders: Vec<(u64, &BTreeMap<u64, Hash32>)> = g
            .by_sender
            .values()
            .map(|by_nonce| {
                (by_nonce.values().filter_map(|id| g.txs.get(id)).map(|p| p.seq).min().unwrap_or(0), by_nonce)
            })
            .collect();
        senders.sort_by_key(|(oldest, _)| *oldest);
        senders
            .into_iter()
            .flat_map(|(_, by_nonce)| by_nonce.values())
            .filter_map(|id| g.txs.get(id))
            .take(max)
            .map(|p| p.tx.to_bytes())
            .collect()
    }

    /// Forget transactions that a committed block included (or that a proposer found inadmissible).
    pub fn remove(&self, ids: &[Hash32]) {
        let mut g = self.lock();
        for id in ids {
            g.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scf_ledger::crypto::KeyPair;
    use scf_ledger::state::{MemState, StateWrite};
    use scf_ledger::tx::{Call, TxBody};

    fn executor() -> Executor {
        Executor::new("test-chain", crate::kv_module::modules())
    }

    fn module_name() -> String {
        "kv".to_string()
    }

    fn tx(key: &KeyPair, nonce: u64) -> Candidate {
        let tx = TxBody {
            chain_id: "test-chain".into(),
            sender: *key.public(),
            nonce,
            expiry_height: 100,
            call: Call { module: module_name(), payload: vec![1, 2, 3] },
        }
        .sign(key);
        let len = tx.to_bytes().len();
        Candidate { tx, len }
    }

    /// Members: `a` and `b` of organisation X, `c` of Y; anyone else is a stranger.
    struct Members;
    impl scf_ledger::module::SenderPolicy for Members {
        fn admit(&self, _: &dyn StateRead, sender: &Address, _: u64, _: u64) -> Result<String, TxRejection> {
            let org = |seed: &str| KeyPair::from_seed(seed).address() == *sender;
            match () {
                _ if org("a") || org("b") => Ok("X".into()),
                _ if org("c") => Ok("Y".into()),
                _ if org("frozen") => {
                    Err(TxRejection::SenderInactive { address: *sender, reason: "account is frozen".into() })
                }
                _ => Err(TxRejection::UnknownSender { address: *sender }),
            }
        }
    }

    fn members_executor() -> Executor {
        Executor::new("test-chain", crate::kv_module::modules().with_sender_policy(std::sync::Arc::new(Members)))
    }

    #[test]
    fn strangers_are_refused_before_their_signature_is_checked() {
        let ex = members_executor();
        let st = MemState::default();
        let pool = Mempool::new(MempoolConfig::default());
        // A stranger's transaction with a broken signature: refused as a stranger, so the signature was
        // never looked at (checking it first would have said bad_signature).
        let mut junk = tx(&KeyPair::from_seed("stranger"), 0);
        junk.tx.signature.0[5] ^= 1;
        let r = pool.admit(
            &ex,
            &st,
            1,
            0,
            vec![junk, tx(&KeyPair::from_seed("frozen"), 0), tx(&KeyPair::from_seed("a"), 0)],
        );
        assert!(matches!(&r[0], Err(SubmitError::Rejected(TxRejection::UnknownSender { .. }))), "{r:?}");
        assert_eq!(r[0].as_ref().map_err(SubmitError::kind).err(), Some("unknown_sender"));
        assert!(matches!(&r[1], Err(SubmitError::Rejected(TxRejection::SenderInactive { .. }))), "{r:?}");
        assert!(r[2].is_ok(), "{r:?}");
        assert_eq!(pool.len(), 1);
        // Validators are admitted although no member policy names them.
        let v = KeyPair::from_seed("validator");
        let mut st = MemState::default();
        let set =
            vec![scf_ledger::genesis::Validator { name: "v".into(), public_key: *v.public(), power: 1, peer_id: None }];
        st.set(scf_ledger::genesis::VALIDATORS_KEY, scf_ledger::codec::encode(&set));
        assert!(pool.admit(&ex, &st, 1, 0, vec![tx(&v, 0)])[0].is_ok());
    }

    #[test]
    fn one_organisation_cannot_take_the_pool_and_bytes_are_capped() {
        let ex = members_executor();
        let st = MemState::default();
        let one = tx(&KeyPair::from_seed("a"), 0).len;
        let pool = Mempool::new(MempoolConfig {
            max_txs: 100,
            max_bytes: 100 * one,
            max_txs_per_org: 3,
            max_bytes_per_org: 100 * one,
            ..MempoolConfig::default()
        });
        let (a, b, c) = (KeyPair::from_seed("a"), KeyPair::from_seed("b"), KeyPair::from_seed("c"));
        let r = pool.admit(&ex, &st, 1, 0, vec![tx(&a, 0), tx(&a, 1), tx(&b, 0), tx(&b, 1)]);
        assert!(r[..3].iter().all(Result::is_ok), "{r:?}");
        assert!(matches!(&r[3], Err(SubmitError::OrgQuota { org, .. }) if org == "X"), "{r:?}");
        assert!(r[3].as_ref().err().is_some_and(SubmitError::is_retryable));
        // Another organisation still gets in; X again once one of its transactions leaves.
        assert!(pool.admit(&ex, &st, 1, 0, vec![tx(&c, 0)])[0].is_ok());
        let first = r[0].clone().expect("admitted");
        pool.remove(&[first]);
        assert!(pool.admit(&ex, &st, 1, 0, vec![tx(&b, 1)])[0].is_ok());

        // Bytes: a pool of 2½ transactions' bytes takes two.
        let pool = Mempool::new(MempoolConfig { max_bytes: one * 5 / 2, ..MempoolConfig::default() });
        let r = pool.admit(&ex, &st, 1, 0, vec![tx(&a, 0), tx(&b, 0), tx(&c, 0)]);
        assert!(r[0].is_ok() && r[1].is_ok(), "{r:?}");
        assert!(matches!(r[2], Err(SubmitError::FullBytes { .. })), "{r:?}");
    }

    #[test]
    fn admission_checks_and_back_pressure() {
        let ex = executor();
        let st = MemState::default();
        let pool = Mempool::new(MempoolConfig {
            max_txs: 3,
            max_per_sender: 2,
            verified_cache: 10,
            ..MempoolConfig::default()
        });
        let a = KeyPair::from_seed("a");
        let b = KeyPair::from_seed("b");
        let r = pool.admit(&ex, &st, 1, 0, vec![tx(&a, 0), tx(&a, 0), tx(&a, 1), tx(&a, 2)]);
        assert!(r[0].is_ok());
        assert!(matches!(r[1], Err(SubmitError::Duplicate { .. })));
        assert!(r[2].is_ok());
        assert!(matches!(r[3], Err(SubmitError::Rejected(TxRejection::NonceGap { .. }))));
        let mut bad = tx(&b, 0);
        bad.tx.signature.0[5] ^= 1;
        let r = pool.admit(&ex, &st, 1, 0, vec![bad, tx(&b, 0), tx(&KeyPair::from_seed("c"), 0)]);
        assert!(matches!(r[0], Err(SubmitError::Rejected(TxRejection::BadSignature(_)))));
        assert!(r[1].is_ok());
        assert_eq!(r[2], Err(SubmitError::Full { capacity: 3 }));
        assert!(r[2].as_ref().err().is_some_and(SubmitError::is_retryable));
        let mut wrong_chain = tx(&b, 1);
        wrong_chain.tx.body.chain_id = "other".into();
        let r = pool.admit(&ex, &st, 1, 0, vec![wrong_chain]);
        assert_eq!(r[0].as_ref().err().map(SubmitError::kind), Some("wrong_chain_id"));
    }

    #[test]
    fn selection_is_round_robin_and_in_nonce_order() {
        let ex = executor();
        let st = MemState::default();
        let pool = Mempool::new(MempoolConfig::default());
        let a = KeyPair::from_seed("a");
        let b = KeyPair::from_seed("b");
        let batch = vec![tx(&a, 0), tx(&a, 1), tx(&a, 2), tx(&b, 0), tx(&a, 4)];
        let r = pool.admit(&ex, &st, 1, 0, batch);
        assert!(r.iter().all(Result::is_ok));
        let picked = pool.select(&st, 1, 100, usize::MAX);
        let order: Vec<(Address, u64)> = picked.iter().map(|t| (t.sender_address(), t.body.nonce)).collect();
        assert_eq!(order, vec![(a.address(), 0), (b.address(), 0), (a.address(), 1), (a.address(), 2)]);
        assert!(picked.iter().all(|t| pool.is_verified(&t.id())), "signatures cached for the executor");
        let limited = pool.select(&st, 1, 2, usize::MAX);
        assert_eq!(limited.len(), 2);
    }

    #[test]
    fn pending_raw_lists_senders_oldest_first_each_in_nonce_order() {
        let ex = executor();
        let st = MemState::default();
        let pool = Mempool::new(MempoolConfig::default());
        let a = KeyPair::from_seed("a");
        let b = KeyPair::from_seed("b");
        let b0 = tx(&b, 0);
        let (a0, a1, a2) = (tx(&a, 0), tx(&a, 1), tx(&a, 2));
        let want: Vec<Vec<u8>> = [&b0, &a0, &a1, &a2].iter().map(|c| c.tx.to_bytes()).collect();
        // b first; a's arrive out of nonce order.
        assert!(pool.admit(&ex, &st, 1, 0, vec![b0]).iter().all(Result::is_ok));
        assert!(pool.admit(&ex, &st, 1, 0, vec![a0, a2, a1]).iter().all(Result::is_ok));
        assert_eq!(pool.pending_raw(10), want);
        assert_eq!(pool.pending_raw(2), want[..2].to_vec(), "at most `max`");
        assert!(pool.pending_raw(0).is_empty());
    }
}

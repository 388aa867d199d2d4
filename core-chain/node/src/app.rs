//! The application side of Malachite: answers the engine's requests over `arc-malachitebft-app-channel`.
//!
//! - `GetValue` (we propose): select fair transactions from the mempool, execute them into a block,
//!   keep the executed result, stream the block as one signed proposal part, reply with its hash.
//! - `ReceivedProposalPart` (a peer proposes): check the proposer's part signature, re-execute the block
//!   against our tip (signatures already verified by our mempool are skipped), reply Valid/Invalid.
//! - `Decided`: attach the 2f+1 precommits as the block's certificate and commit block, receipts, state
//!   and indexes in one RocksDB batch; `Finalized`: start the next height.
//! - Sync: serve stored blocks with their certificates; re-execute synced blocks before consensus
//!   accepts them, so a node that was down reaches the same state root as its peers.
//!
//! Consensus itself (rounds, locking, timeouts, vote counting) is Malachite's; nothing here decides.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use malachitebft_app_channel::app::engine::host::{Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{LocallyProposedValue, ProposedValue};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg, NetworkRequest};
use malachitebft_core_types::{HeightParams, LinearTimeouts, Round, Validity};
use rayon::prelude::*;
use scf_ledger::block::Block;
use scf_ledger::codec::encode;
use scf_ledger::executor::{BlockError, ChainTip, ExecutedBlock};
use scf_ledger::tx::SignedTx;
use tracing::{debug, error, info, warn};

use crate::certificate::{to_ledger, to_malachite};
use crate::chain::{now_ms, Chain, CommittedBlock};
use crate::context::{BlockHash, Height, ProposalPart, ScfContext, ValidatorAddress, ValidatorSet};
use crate::signing::{proposal_part_signing_bytes, Sm2Signer};

/// Block production knobs (the `[consensus]` section of the node config).
#[derive(Clone, Debug)]
pub struct ProduceConfig {
    pub timeouts: LinearTimeouts,
    /// With an empty mempool a proposer waits this long for a first transaction before proposing an
    /// empty block (so an idle chain does not spin, yet heights keep advancing).
    pub empty_block_wait: Duration,
    /// Cap on a block's transaction count (also bounded by the chain parameter `max_block_txs`).
    pub max_block_txs: usize,
    /// Cap on a block's encoded transaction bytes (proposal parts travel in one gossip message).
    pub max_block_bytes: usize,
    /// Blocks received as sync responses per request.
    pub max_sync_batch: u64,
}

/// Blocks executed but not yet decided, keyed by hash.
struct Candidate {
    exec: ExecutedBlock,
    part: Option<ProposalPart>,
}

pub(crate) struct App {
    chain: Arc<Chain>,
    signer: Option<Sm2Signer>,
    cfg: ProduceConfig,
    current: (Height, Round),
    candidates: HashMap<BlockHash, Candidate>,
    /// Values seen (built or received) per (height, round), handed back on `StartedRound` after a restart.
    seen: HashMap<(Height, Round), Vec<ProposedValue<ScfContext>>>,
    /// What we built for (height, round): consensus must get the very same value if it asks again.
    built: HashMap<(Height, Round), scf_ledger::Hash32>,
    /// Parts for heights beyond our tip, validated once we get there.
    future_parts: Vec<ProposalPart>,
    stream_seq: u64,
    /// Set when a decided block could not be committed: restart the height (sync will fetch it).
    commit_failed: bool,
    /// Blocks this node proposed and not yet committed, on disk: after a crash the engine may ask for
    /// the value of a (height, round) it already proposed, and must get the very same block back.
    proposed_dir: PathBuf,
    /// The validator set last handed to the engine (to log changes).
    active_set: Option<Vec<ValidatorAddress>>,
}

fn block_error_is_tx(e: &BlockError) -> Option<usize> {
    match e {
        BlockError::InvalidTx { index, .. } => Some(*index),
        _ => None,
    }
}

impl App {
    pub(crate) fn new(chain: Arc<Chain>, signer: Option<Sm2Signer>, cfg: ProduceConfig, proposed_dir: PathBuf) -> Self {
        App {
            proposed_dir,
            chain,
            signer,
            cfg,
            current: (Height(0), Round::Nil),
            candidates: HashMap::new(),
            seen: HashMap::new(),
            built: HashMap::new(),
            future_parts: Vec::new(),
            stream_seq: 0,
            commit_failed: false,
            active_set: None,
        }
    }

    /// Consensus parameters of `height` (the tip + 1): its validator set comes from committed state,
    /// so a set scheduled by governance takes effect at its activation height.
    fn height_params(&mut self, height: Height) -> eyre::Result<HeightParams<ScfContext>> {
        let validators = self.chain.validators_at(height.0)?;
        if validators.is_empty() {
            eyre::bail!("validator set of height {height}: empty");
        }
        let set = ValidatorSet::from_ledger(&validators);
        let addresses: Vec<ValidatorAddress> = set.validators.iter().map(|v| v.address).collect();
        if self.active_set.as_ref() != Some(&addresses) {
            let names: Vec<&str> = validators.iter().map(|v| v.name.as_str()).collect();
            let member = self.signer.as_ref().map(|s| addresses.contains(&s.address()));
            info!(%height, validators = ?names, voting = ?member, "validator set in effect");
            self.active_set = Some(addresses);
        }
        Ok(HeightParams::new(set, self.cfg.timeouts, None))
    }

    fn tip(&self) -> eyre::Result<ChainTip> {
        Ok(self.chain.tip()?)
    }

    /// Run until the engine closes the channel.
    pub(crate) async fn run(mut self, mut channels: Channels<ScfContext>) -> eyre::Result<()> {
        let net_requests = channels.net_requests.clone();
        let chain = self.chain.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match NetworkRequest::dump_state(&net_requests).await {
                    Ok(Some(dump)) => {
                        if let Ok(mut p) = chain.progress.write() {
                            p.peers = dump.peers.len();
                        }
                    }
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
        });
        while let Some(msg) = channels.consensus.recv().await {
            if let Err(e) = self.handle(msg, &mut channels).await {
                error!("consensus app: {e:#}");
            }
        }
        info!("consensus engine stopped");
        Ok(())
    }

    async fn handle(&mut self, msg: AppMsg<ScfContext>, channels: &mut Channels<ScfContext>) -> eyre::Result<()> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let tip = self.tip()?;
                let start = Height(tip.height + 1);
                info!(%start, "consensus ready");
                let _ = reply.send((start, self.height_params(start)?));
            }
            AppMsg::StartedRound { height, round, proposer, role, reply_value } => {
                debug!(%height, %round, %proposer, ?role, "started round");
                self.current = (height, round);
                if let Ok(mut p) = self.chain.progress.write() {
                    p.height = height.0;
                    p.round = round.as_i64();
                }
                self.process_future_parts(height);
                let values = self.seen.get(&(height, round)).cloned().unwrap_or_default();
                let _ = reply_value.send(values);
            }
            AppMsg::GetValue { height, round, timeout, reply } => {
                let hash = match self.built.get(&(height, round)) {
                    Some(h) => *h,
                    None => match self.reload_proposed(height, round) {
                        Some(h) => h,
                        None => self.build_block(height, round, timeout).await?,
                    },
                };
                let _ = reply.send(LocallyProposedValue::new(height, round, BlockHash(hash)));
                if let Some(part) = self.candidates.get(&BlockHash(hash)).and_then(|c| c.part.clone()) {
                    self.publish(part, channels).await?;
                }
            }
            AppMsg::ReceivedProposalPart { from, part, reply, .. } => {
                let value = match part.content {
                    StreamContent::Data(p) => self.received_part(p),
                    StreamContent::Fin => None,
                };
                debug!(%from, has_value = value.is_some(), "proposal part");
                let _ = reply.send(value);
            }
            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }
            AppMsg::VerifyVoteExtensions { extensions, reply, .. } => {
                // Extensions are disabled; the verifier refuses their signatures before this point.
                let _ = reply.send(extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect());
            }
            AppMsg::RestreamProposal { height, round, valid_round, value_id, .. } => {
                if let (Some(signer), Some(c)) = (&self.signer, self.candidates.get(&value_id)) {
                    if c.exec.block.header.proposer == signer.address().0 {
                        let part = ProposalPart {
                            height,
                            round,
                            valid_round,
                            proposer: signer.address(),
                            block: c.exec.block.clone(),
                            signature: signer.sign_part(height, round, value_id.0),
                        };
                        self.publish(part, channels).await?;
                    }
                }
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let tip = self.tip()?;
                let _ = reply.send(Height(tip.height.min(1)));
            }
            AppMsg::Decided { certificate, reply, .. } => {
                self.commit_failed = false;
                if let Err(e) = self.commit(&certificate) {
                    error!(height = %certificate.height, "cannot commit decided block: {e:#}");
                    self.commit_failed = true;
                }
                let _ = reply.send(());
            }
            AppMsg::Finalized { reply, .. } => {
                let tip = self.tip()?;
                let next_height = Height(tip.height + 1);
                let params = self.height_params(next_height)?;
                let next = if self.commit_failed {
                    Next::Restart(next_height, params)
                } else {
                    Next::Start(next_height, params)
                };
                let _ = reply.send(next);
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let _ = reply.send(self.decided_values(range.start().0, range.end().0));
            }
            AppMsg::ProcessSyncedValue { height, round, proposer, value_bytes, reply } => {
                let outcome = self.synced_value(height, round, proposer, &value_bytes);
                let _ = reply.send(outcome);
            }
        }
        Ok(())
    }

    async fn publish(&mut self, part: ProposalPart, channels: &mut Channels<ScfContext>) -> eyre::Result<()> {
        self.stream_seq += 1;
        let id = StreamId::new(Bytes::from(encode(&(part.height.0, part.round, self.stream_seq))));
        channels
            .network
            .send(NetworkMsg::PublishProposalPart(StreamMessage::new(id.clone(), 0, StreamContent::Data(part))))
            .await?;
        channels.network.send(NetworkMsg::PublishProposalPart(StreamMessage::new(id, 1, StreamContent::Fin))).await?;
        Ok(())
    }

    /// Build, execute and remember a block for (height, round).
    async fn build_block(
        &mut self,
        height: Height,
        round: Round,
        timeout: Duration,
    ) -> eyre::Result<scf_ledger::Hash32> {
        let signer = self.signer.clone().ok_or_else(|| eyre::eyre!("asked to propose without a consensus key"))?;
        let started = Instant::now();
        if self.chain.mempool.is_empty() {
            let wait = self.cfg.empty_block_wait.min(timeout / 2);
            let _ = tokio::time::timeout(wait, self.chain.mempool.admitted.notified()).await;
        }
        let deadline = Instant::now() + build_budget(self.cfg.timeouts.propose, timeout, started.elapsed(), round);
        let chain = self.chain.clone();
        let cfg = self.cfg.clone();
        let build_started = Instant::now();
        let exec =
            tokio::task::spawn_blocking(move || build_executed(&chain, &cfg, &signer, height, deadline)).await??;
        let build_ms = build_started.elapsed().as_millis() as u64;
        let waited_ms = build_started.duration_since(started).as_millis() as u64;
        let hash = exec.block.hash();
        let signer = self.signer.clone().ok_or_else(|| eyre::eyre!("no signer"))?;
        // The block is on disk (synced) before its proposal is signed: a crash after signing can always
        // re-send what was signed, never build a second block for the same height and round.
        let file = self.proposed_file(height, round);
        let bytes = exec.block.to_bytes();
        tokio::task::block_in_place(|| write_synced(&self.proposed_dir, &file, &bytes))?;
        let part = ProposalPart {
            height,
            round,
            valid_round: Round::Nil,
            proposer: signer.address(),
            block: exec.block.clone(),
            signature: signer.sign_part(height, round, hash),
        };
        info!(%height, %round, txs = exec.block.txs.len(), waited_ms, build_ms, hash = %hash, "proposing block");
        self.remember(height, round, Round::Nil, signer.address(), hash, Validity::Valid);
        self.built.insert((height, round), hash);
        self.candidates.insert(BlockHash(hash), Candidate { exec, part: Some(part) });
        Ok(hash)
    }

    fn proposed_file(&self, height: Height, round: Round) -> PathBuf {
        self.proposed_dir.join(format!("{}-{}.block", height.0, round.as_i64()))
    }

    /// The block this node proposed for (height, round) before a restart, re-executed.
    fn reload_proposed(&mut self, height: Height, round: Round) -> Option<scf_ledger::Hash32> {
        let signer = self.signer.clone()?;
        let bytes = std::fs::read(self.proposed_file(height, round)).ok()?;
        let block = Block::from_bytes(&bytes).ok()?;
        let tip = self.tip().ok()?;
        let hash = block.hash();
        let part = ProposalPart {
            height,
            round,
            valid_round: Round::Nil,
            proposer: signer.address(),
            block: block.clone(),
            signature: signer.sign_part(height, round, hash),
        };
        if !self.execute_peer_block(&block, &tip, Some(part)) {
            return None;
        }
        info!(%height, %round, %hash, "re-proposing the block proposed before a restart");
        self.remember(height, round, Round::Nil, signer.address(), hash, Validity::Valid);
        self.built.insert((height, round), hash);
        Some(hash)
    }

    fn remember(
        &mut self,
        height: Height,
        round: Round,
        valid_round: Round,
        proposer: ValidatorAddress,
        hash: scf_ledger::Hash32,
        validity: Validity,
    ) -> ProposedValue<ScfContext> {
        let pv = ProposedValue { height, round, valid_round, proposer, value: BlockHash(hash), validity };
        let v = self.seen.entry((height, round)).or_default();
        if !v.contains(&pv) {
            v.push(pv.clone());
        }
        pv
    }

    fn process_future_parts(&mut self, height: Height) {
        let parts = std::mem::take(&mut self.future_parts);
        for p in parts {
            if p.height == height {
                let _ = self.received_part(p);
            } else if p.height > height {
                self.future_parts.push(p);
            }
        }
    }

    /// Check and execute a peer's proposed block.
    fn received_part(&mut self, part: ProposalPart) -> Option<ProposedValue<ScfContext>> {
        let tip = self.tip().ok()?;
        if part.height.0 <= tip.height {
            return None;
        }
        if part.height.0 > tip.height + 1 {
            if self.future_parts.len() < 64 {
                self.future_parts.push(part);
            }
            return None;
        }
        let set = ValidatorSet::from_ledger(&self.chain.validators_at(part.height.0).ok()?);
        let proposer = set.get(&part.proposer.0)?;
        if part.block.header.proposer != part.proposer.0 || part.block.header.height != part.height.0 {
            return Some(self.remember(
                part.height,
                part.round,
                part.valid_round,
                part.proposer,
                part.block.hash(),
                Validity::Invalid,
            ));
        }
        let hash = part.block.hash();
        if proposer
            .public_key
            .verify(&proposal_part_signing_bytes(part.height, part.round, hash), &part.signature)
            .is_err()
        {
            warn!(height = %part.height, proposer = %part.proposer, "proposal part with a bad signature dropped");
            return None;
        }
        // A proposer's clock may run ahead a little; this node does not vote for a block from far in its
        // future. That is a voting policy for proposals, not a validity rule: a block the validators
        // certified is taken from sync whatever this node's clock says (see `synced_value`), so a node
        // whose clock jumped back cannot refuse the chain for good.
        if part.block.header.time_ms > now_ms() + MAX_PROPOSAL_AHEAD_MS {
            warn!(
                height = %part.height,
                proposer = %part.proposer,
                block_time_ms = part.block.header.time_ms,
                "proposal from more than 30 s in this node's future: not voting for it (check this node's clock)"
            );
            return Some(self.remember(
                part.height,
                part.round,
                part.valid_round,
                part.proposer,
                hash,
                Validity::Invalid,
            ));
        }
        let valid = self.execute_peer_block(&part.block, &tip, Some(part.clone()));
        Some(self.remember(part.height, part.round, part.valid_round, part.proposer, hash, Validity::from_bool(valid)))
    }

    /// Re-execute a block from a peer (proposal or sync) and keep the result if valid. Deterministic:
    /// the answer depends on the block and the tip alone, never on this node's clock.
    fn execute_peer_block(&mut self, block: &Block, tip: &ChainTip, part: Option<ProposalPart>) -> bool {
        let hash = BlockHash(block.hash());
        if self.candidates.contains_key(&hash) {
            return true;
        }
        let started = Instant::now();
        let result = tokio::task::block_in_place(|| {
            // Ids once, on all cores; signatures this node admitted to its mempool are not verified again.
            let ids: Vec<_> = block.txs.par_iter().map(SignedTx::id).collect();
            let known = self.chain.mempool.verified_among(&ids);
            let known_valid = |id: &scf_ledger::Hash32| known.contains(id);
            let r = self.chain.executor.validate_block_with_ids(
                self.chain.store.as_ref(),
                tip,
                block,
                Some(ids.clone()),
                &known_valid,
            );
            if r.is_ok() && known.len() < ids.len() {
                // The executor verified the others: a late relay of them is not verified again.
                self.chain.mempool.mark_verified(&ids);
            }
            r
        });
        match result {
            Ok(mut exec) => {
                debug!(
                    height = block.header.height,
                    txs = block.txs.len(),
                    validate_ms = started.elapsed().as_millis() as u64,
                    "validated block from peer"
                );
                exec.block.certificate = None;
                self.candidates.insert(hash, Candidate { exec, part });
                true
            }
            Err(e) => {
                warn!(height = block.header.height, "invalid block from peer: {e}");
                false
            }
        }
    }

    fn commit(&mut self, certificate: &malachitebft_core_types::CommitCertificate<ScfContext>) -> eyre::Result<()> {
        let tip = self.tip()?;
        if certificate.height.0 <= tip.height {
            return Ok(()); // already committed (replayed decision)
        }
        let cand = self
            .candidates
            .remove(&certificate.value_id)
            .ok_or_else(|| eyre::eyre!("decided block {} was never received", certificate.value_id))?;
        let mut exec = cand.exec;
        exec.block.certificate = Some(to_ledger(certificate)?);
        let started = Instant::now();
        let new_tip = tokio::task::block_in_place(|| self.chain.store.commit_block(&exec))?;
        let store_ms = started.elapsed().as_millis() as u64;
        let tx_ids: Vec<scf_ledger::Hash32> = exec.receipts.iter().map(|r| r.tx_id).collect();
        self.chain.mempool.remove(&tx_ids);
        info!(height = new_tip.height, txs = tx_ids.len(), store_ms, state_root = %new_tip.state_root, "committed block");
        self.chain.announce(std::sync::Arc::new(CommittedBlock {
            hash: new_tip.hash,
            block: exec.block,
            receipts: exec.receipts,
        }));
        let h = Height(new_tip.height);
        self.candidates.retain(|_, c| c.exec.block.header.height > h.0);
        self.seen.retain(|(height, _), _| *height > h);
        self.built.retain(|(height, _), _| *height > h);
        if let Ok(entries) = std::fs::read_dir(&self.proposed_dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let done = name.split('-').next().and_then(|x| x.parse::<u64>().ok()).is_some_and(|x| x <= h.0);
                if done {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }

    fn decided_values(&self, from: u64, to: u64) -> Vec<RawDecidedValue<ScfContext>> {
        let mut out = Vec::new();
        let to = to.min(from.saturating_add(self.cfg.max_sync_batch.saturating_sub(1)));
        for h in from..=to {
            let Ok(Some(mut block)) = self.chain.store.block(h) else { break };
            let Some(cert) = block.certificate.take() else { break };
            out.push(RawDecidedValue::new(Bytes::from(block.to_bytes()), to_malachite(&cert)));
        }
        out
    }

    fn synced_value(
        &mut self,
        height: Height,
        round: Round,
        proposer: ValidatorAddress,
        bytes: &Bytes,
    ) -> SyncedValueOutcome<ScfContext> {
        let Ok(block) = Block::from_bytes(bytes) else { return SyncedValueOutcome::PeerFault };
        if block.header.height != height.0 {
            return SyncedValueOutcome::PeerFault;
        }
        let Ok(tip) = self.tip() else { return SyncedValueOutcome::LocalTransientError };
        let hash = block.hash();
        let validity = if height.0 <= tip.height {
            match self.chain.store.block(height.0) {
                Ok(Some(b)) => Validity::from_bool(b.hash() == hash),
                _ => return SyncedValueOutcome::LocalTransientError,
            }
        } else if height.0 == tip.height + 1 {
            Validity::from_bool(self.execute_peer_block(&block, &tip, None))
        } else {
            return SyncedValueOutcome::LocalTransientError;
        };
        SyncedValueOutcome::Verdict(ProposedValue {
            height,
            round,
            valid_round: Round::Nil,
            proposer,
            value: BlockHash(hash),
            validity,
        })
    }
}

/// How far ahead of this node's wall clock a proposal's block time may be for this node to vote for it.
const MAX_PROPOSAL_AHEAD_MS: u64 = 30_000;

/// How long a proposer may spend executing transactions into its block: a sixth of the base propose
/// timeout. Most of it is left for publishing the block and for the other validators to re-execute it
/// before they prevote (on one machine four validators share the cores, so re-execution takes them
/// about twice as long as building took the proposer). The budget comes from the *base* propose timeout and shrinks
/// in later rounds: a round that failed because the block was too slow to validate must not be followed
/// by a bigger block (later rounds have longer timeouts).
fn build_budget(base: Duration, timeout: Duration, waited: Duration, round: Round) -> Duration {
    let attempt = round.as_u32().unwrap_or(0).saturating_add(1);
    (base / 6 / attempt).min(timeout.saturating_sub(waited) / 3)
}

/// Select and execute transactions into a block, dropping any the executor refuses (and retrying).
///
/// Execution stops taking transactions at `deadline` (the block ends there; the rest stay pending), so
/// a proposal is ready within the round's propose timeout however expensive the pending transactions
/// are — otherwise an oversized block would be proposed too late in every round and the chain would stall.
fn build_executed(
    chain: &Chain,
    cfg: &ProduceConfig,
    signer: &Sm2Signer,
    height: Height,
    deadline: Instant,
) -> eyre::Result<ExecutedBlock> {
    let tip = chain.tip()?;
    if tip.height + 1 != height.0 {
        eyre::bail!("asked to propose height {height} but the tip is {}", tip.height);
    }
    let state = chain.store.latest_state()?;
    let params = scf_ledger::executor::chain_params(&state)?;
    let max_txs = cfg.max_block_txs.min(params.max_block_txs as usize);
    let (mut txs, mut ids) = chain.mempool.select_with_ids(&state, height.0, max_txs, cfg.max_block_bytes);
    let time_ms = now_ms().max(tip.time_ms + 1);
    let keep_going = |_: usize| Instant::now() < deadline;
    loop {
        // Everything selected from the mempool was verified at admission; no signature is checked again.
        let known = chain.mempool.verified_among(&ids);
        let known_valid = |id: &scf_ledger::Hash32| known.contains(id);
        match chain.executor.execute_block_bounded(
            chain.store.as_ref(),
            &tip,
            time_ms,
            signer.address().0,
            txs.clone(),
            Some(ids.clone()),
            &known_valid,
            &keep_going,
        ) {
            Ok(exec) => {
                if exec.block.txs.len() < txs.len() {
                    debug!(%height, included = exec.block.txs.len(), selected = txs.len(), "block cut at the build deadline");
                }
                return Ok(exec);
            }
            Err(e) => match block_error_is_tx(&e) {
                Some(index) if index < txs.len() => {
                    warn!("dropping inadmissible transaction from proposal: {e}");
                    chain.mempool.remove(&[ids[index]]);
                    // Later transactions of the same sender depend on this one's nonce.
                    let sender = txs[index].body.sender;
                    let keep: Vec<bool> =
                        txs.iter().enumerate().map(|(i, t)| i < index || t.body.sender != sender).collect();
                    let mut k = keep.iter();
                    txs.retain(|_| k.next().copied().unwrap_or(false));
                    let mut k = keep.iter();
                    ids.retain(|_| k.next().copied().unwrap_or(false));
                }
                _ => return Err(e.into()),
            },
        }
    }
}

/// Write `bytes` to `file` in `dir` and sync the file and the directory entry.
fn write_synced(dir: &std::path::Path, file: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let mut f = std::fs::File::create(file)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::File::open(dir)?.sync_all()
}

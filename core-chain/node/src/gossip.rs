//! Transaction gossip between nodes over libp2p, so that whichever validator proposes next has the
//! transactions any node admitted.
//!
//! Malachite 0.8.2's network actor carries only its own channels (consensus, proposal parts, liveness,
//! sync) and exposes no application topic, so transactions travel on a small swarm of their own:
//!
//! - **Own port, same identity.** The swarm listens on `p2p.tx_listen` with the node's libp2p key
//!   (`p2p_key`), over TCP + 国密 TLS + Yamux when `p2p.tls_*` are set ([`crate::p2p_tls`], as for
//!   consensus), else TCP + Noise + Yamux.
//! - **Allow-listed peers only.** It dials the peers in `p2p.tx_peers` (redialling dropped ones with
//!   exponential backoff, 0.5 s up to 30 s) and accepts connections only from peer ids listed there or
//!   in `p2p.persistent_peers` ([`libp2p::allow_block_list`]): a stranger's connection is closed before
//!   any gossip is exchanged. With `p2p.tls_trust_on_chain` there is no such list: the transport
//!   admits exactly the nodes certified by an organisation CA recorded on chain (which prove they hold
//!   their peer id's key), so a member admitted by governance gossips without anyone editing a config.
//! - **One topic per chain:** `scf/tx/<chain id>/<genesis hash>` ([`topic`]); other topics are not
//!   even recorded for a peer (whitelist subscription filter).
//! - **Batches.** Locally admitted transactions (`Chain::submit_raw(_, true)`) are gathered for up to
//!   5 ms, [`MAX_BATCH_TXS`] transactions or [`MAX_BATCH_BYTES`] bytes and published as one message in
//!   the [batch format](encode_batch). Messages carry no gossipsub signature (`ValidationMode::Anonymous`):
//!   every transaction inside is SM2-signed and verified at admission, and the sending peer is
//!   authenticated by the transport (国密 TLS or Noise) and the allow-list, so an ed25519 signature per message
//!   would add a signature and a verification per batch and per node and prove nothing more. Messages
//!   are identified by the SM3 hash of their content, so a batch already seen is neither delivered nor
//!   forwarded again.
//! - **Received batches** are checked for shape (a malformed one is rejected — not forwarded — and
//!   logged at debug) and admitted with `Chain::submit_raw(_, false)` on a blocking thread: signatures
//!   are verified once per node, in parallel, and nothing received is published again by this node
//!   (gossipsub itself forwards accepted messages to peers that have not seen them).
//!
//! - **Catching up.** When a peer subscribes (it connected, or came back), the node sends *that peer*
//!   its pending transactions (up to [`RESEND_MAX`], each sender's in nonce order, in batches sent one
//!   at a time) on a request-response protocol of the same swarm (`/scf/tx-catchup/1`), so a
//!   transaction admitted while the node had no peers, or while that peer was down, still reaches it.
//!   Transactions the peer already holds are refused as duplicates before any signature check.
//!
//! Beyond that gossip is best effort, like the mempool: a transaction a peer misses is still included
//! when the node holding it proposes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId, TopicHash, ValidationMode};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    allow_block_list, identity, noise, request_response, swarm::behaviour::toggle::Toggle, tcp, yamux, Multiaddr,
    PeerId, StreamProtocol, Swarm, SwarmBuilder,
};
use scf_ledger::genesis::Genesis;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::chain::Chain;
pub use scf_client::batch::{decode_batch, encode_batch, BatchError, LEN, MAX_BATCH_BYTES, MAX_BATCH_TXS};

/// Room for gossipsub's envelope around a batch: topic, author, sequence number, signature, key.
const ENVELOPE_BYTES: usize = 64 * 1024;
/// How long the batcher waits for more transactions after the first.
const BATCH_WINDOW: Duration = Duration::from_millis(5);
/// Admitted transactions waiting to be batched; beyond this they are not gossiped (best effort).
const QUEUE: usize = 100_000;
/// Encoded batches waiting for the swarm.
const OUTBOX: usize = 64;
/// Received batches waiting for admission; beyond this a batch is dropped (and counted).
const INBOX: usize = 64;
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A connection that lasted this long resets the peer's redial backoff.
const STABLE: Duration = Duration::from_secs(10);
const REDIAL_TICK: Duration = Duration::from_millis(250);
/// Most pending transactions sent to a peer that subscribes.
pub const RESEND_MAX: usize = 20_000;
/// The catch-up protocol (pending transactions for a peer that just subscribed).
const CATCHUP_PROTOCOL: &str = "/scf/tx-catchup/1";

/// The chain's transaction topic: `scf/tx/<chain id>/<genesis hash>`.
pub fn topic(genesis: &Genesis) -> IdentTopic {
    IdentTopic::new(format!("scf/tx/{}/{}", genesis.chain_id, genesis.hash().to_hex()))
}

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Off when the transport alone decides who connects (trust from chain).
    allow: Toggle<allow_block_list::Behaviour<allow_block_list::AllowedPeers>>,
    gossipsub: gossipsub::Behaviour<gossipsub::IdentityTransform, gossipsub::WhitelistSubscriptionFilter>,
    catchup: request_response::Behaviour<CatchupCodec>,
}

/// Catch-up requests carry one encoded batch (`len: u32 LE` then the [batch](encode_batch)); the
/// response is one byte (received).
#[derive(Clone, Default)]
pub(crate) struct CatchupCodec;

#[async_trait::async_trait]
impl request_response::Codec for CatchupCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = ();

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut len = [0u8; LEN];
        io.read_exact(&mut len).await?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_BATCH_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, BatchError::TooLarge { len }));
        }
        let mut data = vec![0u8; len];
        io.read_exact(&mut data).await?;
        Ok(data)
    }
    async fn read_response<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<()> {
        let mut ack = [0u8; 1];
        io.read_exact(&mut ack).await
    }
    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        data: Vec<u8>,
    ) -> io::Result<()> {
        let len = u32::try_from(data.len()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        io.write_all(&len.to_le_bytes()).await?;
        io.write_all(&data).await?;
        io.close().await
    }
    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        (): (),
    ) -> io::Result<()> {
        io.write_all(&[1]).await?;
        io.close().await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GossipError {
    #[error("transaction gossip: {0}")]
    Swarm(String),
    #[error("p2p.tx_listen: cannot listen on {addr}: {reason}")]
    Listen { addr: Multiaddr, reason: String },
}

fn swarm_err(e: impl std::fmt::Display) -> GossipError {
    GossipError::Swarm(e.to_string())
}

/// Content-addressed message ids: the same batch is the same message, whoever forwards it.
fn message_id(m: &gossipsub::Message) -> MessageId {
    MessageId::new(&scf_ledger::crypto::sm3(&m.data))
}

/// A swarm on `topic` that accepts connections only from `allowed` peers (any peer the transport
/// admits with `None`).
pub(crate) fn build_swarm(
    key: identity::Keypair,
    topic: &IdentTopic,
    allowed: Option<Vec<PeerId>>,
    tls: Option<&crate::p2p_tls::P2pTls>,
) -> Result<Swarm<Behaviour>, GossipError> {
    let config = gossipsub::ConfigBuilder::default()
        .max_transmit_size(MAX_BATCH_BYTES + ENVELOPE_BYTES)
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(message_id)
        // Messages can be MiBs: a slow peer gets a short send queue (beyond it, batches to that peer
        // are dropped — best effort), not gossipsub's default of 5000 messages.
        .connection_handler_queue_len(OUTBOX * 2)
        .build()
        .map_err(swarm_err)?;
    let filter = gossipsub::WhitelistSubscriptionFilter(HashSet::from([topic.hash()]));
    let mut gossipsub =
        gossipsub::Behaviour::new_with_subscription_filter(gossipsub::MessageAuthenticity::Anonymous, config, filter)
            .map_err(swarm_err)?;
    gossipsub.subscribe(topic).map_err(swarm_err)?;
    let allow = allowed.map(|allowed| {
        let mut allow = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
        for p in allowed {
            allow.allow_peer(p);
        }
        allow
    });
    let allow = Toggle::from(allow);
    let catchup = request_response::Behaviour::new(
        [(StreamProtocol::new(CATCHUP_PROTOCOL), request_response::ProtocolSupport::Full)],
        // Each catch-up request holds up to one 4 MiB batch in memory; a node sends one at a time per
        // peer (streams beyond the limit fail, they do not queue).
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(30))
            .with_max_concurrent_streams(8),
    );
    let behaviour = Behaviour { allow, gossipsub, catchup };
    // Connections are to allow-listed consortium members only: keep them open while idle.
    let idle = |c: libp2p::swarm::Config| c.with_idle_connection_timeout(Duration::from_secs(u64::MAX));
    let builder = SwarmBuilder::with_existing_identity(key).with_tokio();
    Ok(match tls {
        Some(tls) => builder
            .with_other_transport(|k| tls.transport(k))
            .map_err(swarm_err)?
            .with_behaviour(|_| behaviour)
            .map_err(swarm_err)?
            .with_swarm_config(idle)
            .build(),
        None => builder
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .map_err(swarm_err)?
            .with_behaviour(|_| behaviour)
            .map_err(swarm_err)?
            .with_swarm_config(idle)
            .build(),
    })
}

/// What the gossip swarm is started with (from `[p2p]` in the node config).
#[derive(Clone, Debug, Default)]
pub struct GossipSettings {
    pub listen: Option<Multiaddr>,
    /// Peers to dial, each with the peer id its address ends in.
    pub peers: Vec<(PeerId, Multiaddr)>,
    /// Peers allowed to connect besides `peers` (e.g. from `persistent_peers`).
    pub also_allowed: Vec<PeerId>,
    /// No allow-list: every peer the transport admits (`p2p.tls_trust_on_chain`).
    pub open: bool,
}

impl GossipSettings {
    /// From `[p2p]`; `None` when neither `tx_listen` nor `tx_peers` is set (no gossip).
    pub fn from_config(p2p: &crate::config::P2pSection) -> Result<Option<Self>, (String, String)> {
        if p2p.tx_listen.is_none() && p2p.tx_peers.is_empty() {
            return Ok(None);
        }
        let listen = match &p2p.tx_listen {
            Some(l) => Some(l.parse().map_err(|_| {
                ("p2p.tx_listen".to_string(), "not a multiaddr (e.g. /ip4/127.0.0.1/tcp/27100)".to_string())
            })?),
            None => None,
        };
        let mut peers = Vec::new();
        for (i, p) in p2p.tx_peers.iter().enumerate() {
            let field = || format!("p2p.tx_peers[{i}]");
            let addr: Multiaddr = p.parse().map_err(|_| (field(), "not a multiaddr".to_string()))?;
            let id = crate::config::peer_id_of(&addr).ok_or_else(|| {
                (field(), "must end in /p2p/<peer id> (e.g. /ip4/10.0.0.12/tcp/27100/p2p/12D3KooW…)".into())
            })?;
            peers.push((id, addr));
        }
        let also_allowed = p2p
            .persistent_peers
            .iter()
            .filter_map(|p| p.parse::<Multiaddr>().ok())
            .filter_map(|a| crate::config::peer_id_of(&a))
            .collect();
        let open = p2p.tls_trust_on_chain && p2p.tls_cert.is_some();
        Ok(Some(GossipSettings { listen, peers, also_allowed, open }))
    }
}

/// A started gossip swarm: its tasks and the addresses it listens on.
pub struct Gossip {
    pub tasks: Vec<JoinHandle<()>>,
    pub listen_addrs: Vec<Multiaddr>,
}

/// Start the swarm: listen (waiting until the address is bound), subscribe, dial the peers, and hook
/// into `chain` so locally admitted transactions are published and received ones admitted.
pub async fn start(
    chain: Arc<Chain>,
    key: identity::Keypair,
    settings: GossipSettings,
    tls: Option<&crate::p2p_tls::P2pTls>,
) -> Result<Gossip, GossipError> {
    let topic = topic(&chain.genesis);
    let me = key.public().to_peer_id();
    let allowed = settings.peers.iter().map(|(p, _)| *p).chain(settings.also_allowed.iter().copied());
    let allowed = (!settings.open).then(|| allowed.filter(|p| *p != me).collect());
    let mut swarm = build_swarm(key, &topic, allowed, tls)?;
    let mut listen_addrs = Vec::new();
    if let Some(addr) = &settings.listen {
        swarm.listen_on(addr.clone()).map_err(|e| GossipError::Listen { addr: addr.clone(), reason: e.to_string() })?;
        let bound = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::NewListenAddr { address, .. } => return Ok(address),
                    SwarmEvent::ListenerClosed { reason: Err(e), .. } | SwarmEvent::ListenerError { error: e, .. } => {
                        return Err(e.to_string())
                    }
                    _ => {}
                }
            }
        })
        .await
        .map_err(|_| GossipError::Listen { addr: addr.clone(), reason: "not bound within 10 s".into() })?
        .map_err(|reason| GossipError::Listen { addr: addr.clone(), reason })?;
        info!(addr = %bound, peers = settings.peers.len(), topic = %topic, "transaction gossip listening");
        listen_addrs.push(bound);
    }

    let (queue_tx, queue_rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    let (out_tx, out_rx) = mpsc::channel::<(usize, Vec<u8>)>(OUTBOX);
    let (in_tx, in_rx) = mpsc::channel::<Vec<Vec<u8>>>(INBOX);
    chain.set_gossip(queue_tx);
    let now = Instant::now();
    let peers = settings
        .peers
        .into_iter()
        .filter(|(p, _)| *p != me)
        .map(|(p, addr)| (p, Redial { addr, connected: false, since: now, backoff: MIN_BACKOFF, next: now }))
        .collect();
    let event_loop =
        EventLoop { swarm, topic: topic.hash(), peers, inbox: in_tx, chain: chain.clone(), catchup: HashMap::new() };
    let tasks = vec![
        tokio::spawn(batcher(queue_rx, out_tx)),
        tokio::spawn(event_loop.run(out_rx)),
        tokio::spawn(admit(chain, in_rx)),
    ];
    Ok(Gossip { tasks, listen_addrs })
}

/// Gather admitted transactions into batches (up to [`MAX_BATCH_TXS`] / [`MAX_BATCH_BYTES`], or
/// whatever arrives within [`BATCH_WINDOW`] of the first) and hand them to the swarm encoded.
async fn batcher(mut rx: mpsc::Receiver<Vec<u8>>, out: mpsc::Sender<(usize, Vec<u8>)>) {
    let mut carry: Option<Vec<u8>> = None;
    loop {
        let first = match carry.take() {
            Some(raw) => raw,
            None => match rx.recv().await {
                Some(raw) => raw,
                None => return,
            },
        };
        let mut bytes = LEN + LEN + first.len();
        let mut batch = vec![first];
        let deadline = Instant::now() + BATCH_WINDOW;
        while batch.len() < MAX_BATCH_TXS {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(raw)) if bytes + LEN + raw.len() > MAX_BATCH_BYTES => {
                    carry = Some(raw);
                    break;
                }
                Ok(Some(raw)) => {
                    bytes += LEN + raw.len();
                    batch.push(raw);
                }
                _ => break,
            }
        }
        match encode_batch(&batch) {
            Ok(data) => {
                if out.send((batch.len(), data)).await.is_err() {
                    return;
                }
            }
            // Admitted transactions are at most MAX_TX_BYTES, so this does not happen; never panic.
            Err(e) => warn!("transaction gossip: batch not encoded: {e}"),
        }
    }
}

/// Admit received batches one at a time on a blocking thread (signature checks are CPU-heavy and
/// already parallel inside one batch).
async fn admit(chain: Arc<Chain>, mut rx: mpsc::Receiver<Vec<Vec<u8>>>) {
    while let Some(raws) = rx.recv().await {
        let chain = chain.clone();
        match tokio::task::spawn_blocking(move || chain.submit_raw(raws, false)).await {
            Ok(results) => {
                let admitted = results.iter().filter(|r| r.is_ok()).count();
                metrics::counter!("scf_gossip_txs_admitted_total").increment(admitted as u64);
                if admitted < results.len() {
                    debug!(admitted, refused = results.len() - admitted, "gossiped transactions admitted");
                }
            }
            Err(e) => warn!("transaction gossip: admission task failed: {e}"),
        }
    }
}

struct Redial {
    addr: Multiaddr,
    connected: bool,
    since: Instant,
    backoff: Duration,
    next: Instant,
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    topic: TopicHash,
    peers: HashMap<PeerId, Redial>,
    inbox: mpsc::Sender<Vec<Vec<u8>>>,
    chain: Arc<Chain>,
    /// Catch-up batches still to send, per peer (sent one at a time, in order).
    catchup: HashMap<PeerId, VecDeque<Vec<u8>>>,
}

impl EventLoop {
    async fn run(mut self, mut outbox: mpsc::Receiver<(usize, Vec<u8>)>) {
        let mut tick = tokio::time::interval(REDIAL_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_event(ev),
                batch = outbox.recv() => match batch {
                    Some((count, data)) => self.publish(count, data),
                    None => return,
                },
                _ = tick.tick() => self.redial(),
            }
        }
    }

    fn publish(&mut self, count: usize, data: Vec<u8>) {
        match self.swarm.behaviour_mut().gossipsub.publish(self.topic.clone(), data) {
            Ok(_) => metrics::counter!("scf_gossip_txs_published_total").increment(count as u64),
            // No peer yet, or the same batch already went out: best effort (pending transactions are
            // sent to each peer that subscribes later).
            Err(e) => debug!(count, "transaction batch not published: {e}"),
        }
    }

    /// Send `peer` (which just subscribed) the pending transactions, in batches as the batcher cuts them,
    /// one request at a time: a sender's transactions may span two batches, and the peer must admit
    /// them in nonce order.
    fn send_pending(&mut self, peer: PeerId) {
        let raws = self.chain.mempool.pending_raw(RESEND_MAX);
        if raws.is_empty() {
            return;
        }
        debug!(%peer, txs = raws.len(), "peer subscribed: sending it the pending transactions");
        metrics::counter!("scf_gossip_txs_resent_total").increment(raws.len() as u64);
        let mut queue = VecDeque::new();
        let mut start = 0;
        while start < raws.len() {
            let mut end = start;
            let mut bytes = LEN;
            while end < raws.len() && end - start < MAX_BATCH_TXS && bytes + LEN + raws[end].len() <= MAX_BATCH_BYTES {
                bytes += LEN + raws[end].len();
                end += 1;
            }
            let end = end.max(start + 1);
            match encode_batch(&raws[start..end]) {
                Ok(data) => queue.push_back(data),
                Err(e) => warn!("transaction gossip: batch not encoded: {e}"),
            }
            start = end;
        }
        // A catch-up still running for this peer is replaced by this newer one.
        self.catchup.insert(peer, queue);
        self.send_next_catchup(peer);
    }

    /// Send `peer` the next batch of its catch-up, if any is left.
    fn send_next_catchup(&mut self, peer: PeerId) {
        match self.catchup.get_mut(&peer).and_then(VecDeque::pop_front) {
            Some(data) => {
                self.swarm.behaviour_mut().catchup.send_request(&peer, data);
            }
            None => {
                self.catchup.remove(&peer);
            }
        }
    }

    /// A batch from a peer (gossiped or sent for catching up): admit it unless admission is behind.
    fn received(&mut self, peer: PeerId, data: &[u8]) -> Result<(), BatchError> {
        let raws = decode_batch(data)?;
        metrics::counter!("scf_gossip_txs_received_total").increment(raws.len() as u64);
        if self.inbox.try_send(raws).is_err() {
            metrics::counter!("scf_gossip_batches_dropped_total").increment(1);
            debug!(%peer, "transaction batch dropped: admission is behind");
        }
        Ok(())
    }

    fn redial(&mut self) {
        let now = Instant::now();
        for (peer, r) in self.peers.iter_mut() {
            if r.connected || now < r.next {
                continue;
            }
            let opts = DialOpts::peer_id(*peer)
                .addresses(vec![r.addr.clone()])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!(%peer, "transaction gossip: dial: {e}");
            }
            r.next = now + r.backoff;
            r.backoff = (r.backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn peers_gauge(&self) {
        metrics::gauge!("scf_gossip_peers").set(self.swarm.connected_peers().count() as f64);
    }

    fn on_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let verdict = if message.topic != self.topic {
                    MessageAcceptance::Reject
                } else {
                    match self.received(propagation_source, &message.data) {
                        Ok(()) => MessageAcceptance::Accept,
                        Err(e) => {
                            metrics::counter!("scf_gossip_batches_rejected_total").increment(1);
                            debug!(peer = %propagation_source, author = ?message.source, "malformed transaction batch: {e}");
                            MessageAcceptance::Reject
                        }
                    }
                };
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    verdict,
                );
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { peer_id, topic }))
                if topic == self.topic =>
            {
                self.send_pending(peer_id);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Catchup(request_response::Event::Message {
                peer,
                message: request_response::Message::Request { request, channel, .. },
                ..
            })) => {
                if let Err(e) = self.received(peer, &request) {
                    metrics::counter!("scf_gossip_batches_rejected_total").increment(1);
                    debug!(%peer, "malformed catch-up batch: {e}");
                }
                let _ = self.swarm.behaviour_mut().catchup.send_response(channel, ());
            }
            SwarmEvent::Behaviour(BehaviourEvent::Catchup(request_response::Event::Message {
                peer,
                message: request_response::Message::Response { .. },
                ..
            })) => self.send_next_catchup(peer),
            SwarmEvent::Behaviour(BehaviourEvent::Catchup(request_response::Event::OutboundFailure {
                peer,
                error,
                ..
            })) => {
                // Best effort: the rest of this catch-up is dropped (the next subscription starts anew).
                debug!(%peer, "catch-up batch not delivered: {error}");
                self.catchup.remove(&peer);
            }
            SwarmEvent::ConnectionEstablished { peer_id, num_established, endpoint, .. } => {
                if num_established.get() == 1 {
                    debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "transaction gossip peer connected");
                    if let Some(r) = self.peers.get_mut(&peer_id) {
                        r.connected = true;
                        r.since = Instant::now();
                    }
                }
                self.peers_gauge();
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, cause, .. } => {
                debug!(peer = %peer_id, ?cause, "transaction gossip peer disconnected");
                if let Some(r) = self.peers.get_mut(&peer_id) {
                    r.connected = false;
                    if r.since.elapsed() >= STABLE {
                        r.backoff = MIN_BACKOFF;
                    }
                    r.next = Instant::now() + r.backoff;
                }
                self.peers_gauge();
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(peer = ?peer_id, "transaction gossip: dial failed: {error}");
            }
            SwarmEvent::IncomingConnectionError { send_back_addr, error, .. } => {
                debug!(from = %send_back_addr, "transaction gossip: incoming connection refused: {error}");
            }
            SwarmEvent::NewListenAddr { address, .. } => debug!(%address, "transaction gossip listening"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicBool, Ordering};

    use scf_ledger::crypto::KeyPair;
    use scf_ledger::executor::Executor;
    use scf_ledger::tx::{Call, SignedTx, TxBody};
    use scf_store::Store;

    use crate::mempool::{Mempool, MempoolConfig};

    const CHAIN: &str = "gossip-test";

    fn test_chain(dir: &std::path::Path) -> Arc<Chain> {
        let kd = dir.join("keys");
        crate::keys::generate(&kd, "v", true).expect("keygen");
        let genesis = crate::cli::build_genesis(
            &crate::cli::GenesisArgs {
                chain_id: CHAIN.into(),
                validators: vec![kd.join("validator.json")],
                orgs: vec![],
                app_state: None,
                genesis_time_ms: None,
                max_block_txs: None,
                out: dir.join("genesis.json"),
            },
            crate::kv_module::modules(),
        )
        .expect("genesis");
        let store = Arc::new(Store::open(&dir.join("db")).expect("store"));
        let executor = Arc::new(Executor::new(CHAIN, crate::kv_module::modules()));
        store.init_genesis(&executor, &genesis).expect("init genesis");
        Arc::new(Chain::new(store, executor, Mempool::new(MempoolConfig::default()), genesis))
    }

    fn tx(seed: &str) -> SignedTx {
        let key = KeyPair::from_seed(seed);
        TxBody {
            chain_id: CHAIN.into(),
            sender: *key.public(),
            nonce: 0,
            expiry_height: 1000,
            call: Call { module: "kv".into(), payload: vec![] },
        }
        .sign(&key)
    }

    #[derive(Default)]
    struct Seen {
        /// A connection was closed (by the remote, for the stranger) after it was set up.
        closed: AtomicBool,
        subscribed: AtomicBool,
        published: AtomicBool,
        received: std::sync::Mutex<Vec<Vec<u8>>>,
        /// Batches the node sent it on the catch-up protocol.
        caught_up: std::sync::Mutex<Vec<Vec<u8>>>,
    }

    /// Drive a bare swarm: (re)dial `dial` and publish `data` (if any) every 200 ms; record whether the node
    /// ever told it about a subscription, whether any publish went out and what it received.
    async fn drive(
        mut swarm: Swarm<Behaviour>,
        topic: TopicHash,
        data: Vec<u8>,
        dial: Option<Multiaddr>,
        seen: Arc<Seen>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                ev = swarm.select_next_some() => {
                    match ev {
                        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { .. })) => {
                            seen.subscribed.store(true, Ordering::SeqCst);
                        }
                        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { message, .. })) => {
                            if let Ok(mut r) = seen.received.lock() {
                                r.push(message.data);
                            }
                        }
                        SwarmEvent::Behaviour(BehaviourEvent::Catchup(request_response::Event::Message {
                            message: request_response::Message::Request { request, channel, .. },
                            ..
                        })) => {
                            if let Ok(mut r) = seen.caught_up.lock() {
                                r.push(request);
                            }
                            let _ = swarm.behaviour_mut().catchup.send_response(channel, ());
                        }
                        SwarmEvent::ConnectionClosed { .. } => seen.closed.store(true, Ordering::SeqCst),
                        _ => {}
                    }
                }
                _ = tick.tick() => {
                    if let Some(a) = &dial {
                        if swarm.connected_peers().count() == 0 {
                            let _ = swarm.dial(a.clone());
                        }
                    }
                    let gossipsub = &mut swarm.behaviour_mut().gossipsub;
                    if !data.is_empty() && gossipsub.publish(topic.clone(), data.clone()).is_ok() {
                        seen.published.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
    }

    /// A peer in `tx_peers` gets its gossiped transaction admitted; a stranger (an identity in no list)
    /// that dials the gossip port and publishes on the right topic gets nowhere: its connection is
    /// closed before gossip starts, so it never sees the node's subscription and nothing it sends is
    /// admitted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_allow_listed_peers_get_transactions_admitted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = test_chain(dir.path());
        let topic = topic(&chain.genesis);
        let node_key = identity::Keypair::generate_ed25519();
        let node_id = node_key.public().to_peer_id();
        let friend_key = identity::Keypair::generate_ed25519();
        let friend_id = friend_key.public().to_peer_id();
        let stranger_key = identity::Keypair::generate_ed25519();

        // The friend listens; the node dials it (it is in the node's tx_peers).
        let mut friend = build_swarm(friend_key, &topic, Some(vec![node_id]), None).expect("friend swarm");
        friend.listen_on("/ip4/127.0.0.1/tcp/0".parse().expect("addr")).expect("listen");
        let friend_addr = loop {
            if let SwarmEvent::NewListenAddr { address, .. } = friend.select_next_some().await {
                break address.with(libp2p::multiaddr::Protocol::P2p(friend_id));
            }
        };
        let settings = GossipSettings {
            listen: Some("/ip4/127.0.0.1/tcp/0".parse().expect("addr")),
            peers: vec![(friend_id, friend_addr)],
            also_allowed: vec![],
            open: false,
        };
        let gossip = start(chain.clone(), node_key, settings, None).await.expect("gossip starts");
        let node_addr = gossip.listen_addrs[0].clone().with(libp2p::multiaddr::Protocol::P2p(node_id));

        // The stranger dials the node and keeps publishing, from the start.
        let stranger_tx = tx("stranger");
        let stranger_seen = Arc::new(Seen::default());
        let stranger = build_swarm(stranger_key, &topic, Some(vec![node_id]), None).expect("stranger swarm");
        let stranger_batch = encode_batch(&[stranger_tx.to_bytes()]).expect("encode");
        let stranger_task =
            tokio::spawn(drive(stranger, topic.hash(), stranger_batch, Some(node_addr), stranger_seen.clone()));

        let friend_tx = tx("friend");
        let friend_seen = Arc::new(Seen::default());
        let friend_batch = encode_batch(&[friend_tx.to_bytes()]).expect("encode");
        let friend_task = tokio::spawn(drive(friend, topic.hash(), friend_batch, None, friend_seen.clone()));

        let deadline = Instant::now() + Duration::from_secs(30);
        while !chain.mempool.contains(&friend_tx.id()) {
            assert!(Instant::now() < deadline, "the allow-listed peer's transaction was not admitted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(friend_seen.subscribed.load(Ordering::SeqCst));
        // Give the stranger a while longer (it has been dialling and publishing all along).
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!chain.mempool.contains(&stranger_tx.id()), "a stranger's transaction was admitted");
        assert!(stranger_seen.closed.load(Ordering::SeqCst), "the stranger reached the node and was shut out");
        assert!(!stranger_seen.subscribed.load(Ordering::SeqCst), "the stranger saw the node's subscription");
        assert!(!stranger_seen.published.load(Ordering::SeqCst), "the stranger found a subscribed peer");
        assert_eq!(chain.mempool.len(), 1);

        // A locally submitted transaction is published to the peer (and not to the stranger); one
        // received from a peer is not published again.
        let local = tx("local");
        assert!(chain.submit_raw(vec![local.to_bytes()], true)[0].is_ok());
        let want = encode_batch(&[local.to_bytes()]).expect("encode");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !friend_seen.received.lock().expect("lock").contains(&want) {
            assert!(Instant::now() < deadline, "the local transaction was not gossiped to the peer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(friend_seen.received.lock().expect("lock").len(), 1, "only the local batch came back");
        assert!(friend_seen.caught_up.lock().expect("lock").is_empty(), "nothing was pending when it joined");
        assert!(stranger_seen.received.lock().expect("lock").is_empty());
        stranger_task.abort();
        friend_task.abort();
        for t in gossip.tasks {
            t.abort();
        }
    }

    /// Transactions admitted while the node had no peer reach each peer that joins later, also a second
    /// one when nothing changed in between (gossipsub would refuse to publish the same batch twice), in
    /// each sender's nonce order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pending_transactions_reach_peers_that_join_later() {
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = test_chain(dir.path());
        let topic = topic(&chain.genesis);
        let node_key = identity::Keypair::generate_ed25519();
        let node_id = node_key.public().to_peer_id();
        let keys: Vec<identity::Keypair> = (0..2).map(|_| identity::Keypair::generate_ed25519()).collect();
        let settings = GossipSettings {
            listen: Some("/ip4/127.0.0.1/tcp/0".parse().expect("addr")),
            peers: vec![],
            also_allowed: keys.iter().map(|k| k.public().to_peer_id()).collect(),
            open: false,
        };
        let gossip = start(chain.clone(), node_key, settings, None).await.expect("gossip starts");
        let node_addr = gossip.listen_addrs[0].clone().with(libp2p::multiaddr::Protocol::P2p(node_id));

        // Two transactions of one sender and one of another, admitted with nobody to gossip them to.
        let key = KeyPair::from_seed("early");
        let body = |nonce| TxBody {
            chain_id: CHAIN.into(),
            sender: *key.public(),
            nonce,
            expiry_height: 1000,
            call: Call { module: "kv".into(), payload: vec![] },
        };
        let mut early = vec![body(0).sign(&key), body(1).sign(&key), tx("other")];
        // And more than one batch's worth from four more senders, so the catch-up takes two requests.
        for b in 0..4 {
            let k = KeyPair::from_seed(&format!("bulk-{b}"));
            for nonce in 0..(MAX_BATCH_TXS as u64 / 4 + 100) {
                let mut t = body(nonce);
                t.sender = *k.public();
                early.push(t.sign(&k));
            }
        }
        let results = chain.submit_raw(early.iter().map(SignedTx::to_bytes).collect(), true);
        assert!(results.iter().all(Result::is_ok), "all admitted");
        tokio::time::sleep(Duration::from_millis(300)).await;

        let mut tasks = Vec::new();
        for k in keys {
            let seen = Arc::new(Seen::default());
            let peer = build_swarm(k, &topic, Some(vec![node_id]), None).expect("peer swarm");
            tasks.push(tokio::spawn(drive(peer, topic.hash(), vec![], Some(node_addr.clone()), seen.clone())));
            let deadline = Instant::now() + Duration::from_secs(20);
            let got = loop {
                let got: Vec<Vec<u8>> = seen
                    .caught_up
                    .lock()
                    .expect("lock")
                    .iter()
                    .flat_map(|b| decode_batch(b).expect("a well-formed batch"))
                    .collect();
                if got.len() >= early.len() {
                    break got;
                }
                assert!(Instant::now() < deadline, "the pending transactions did not reach the joining peer");
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert_eq!(got.len(), early.len(), "each pending transaction once");
            for t in &early {
                assert!(got.contains(&t.to_bytes()));
            }
            assert!(seen.caught_up.lock().expect("lock").len() >= 2, "more than one batch");
            let pos = |t: &SignedTx| got.iter().position(|r| *r == t.to_bytes());
            for pair in early.windows(2).filter(|p| p[0].body.sender == p[1].body.sender) {
                assert!(pos(&pair[0]) < pos(&pair[1]), "a sender's transactions in nonce order");
            }
            assert!(seen.received.lock().expect("lock").is_empty(), "nothing was gossiped meanwhile");
        }
        for t in tasks {
            t.abort();
        }
        for t in gossip.tasks {
            t.abort();
        }
    }
}

//! Starting a node: open the store, apply genesis, start Malachite (consensus, libp2p, WAL, sync), the
//! app loop, transaction gossip and the client API. [`NodeHandle`] is the in-process API.

use std::sync::Arc;
use std::time::Duration;

use bytesize::ByteSize;
use malachitebft_app_channel::app::config::{ConsensusConfig, NodeConfig as MalNodeConfig, P2pConfig, ValueSyncConfig};
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::{
    start_engine, ConsensusContext, EngineHandle, NetworkContext, NetworkIdentity, RequestContext, SyncContext,
    WalContext,
};
use malachitebft_codec::Codec;
use scf_ledger::block::{Block, CommitCertificate, TxInclusionProof};
use scf_ledger::crypto::Hash32;
use scf_ledger::executor::{ChainTip, Executor};
use scf_ledger::genesis::Genesis;
use scf_ledger::module::ModuleRegistry;
use scf_ledger::tx::SignedTx;
use scf_store::Store;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::app::App;
use crate::chain::{Chain, CommittedBlock, TxStatus};
use crate::codec::ScfCodec;
use crate::config::NodeConfig;
use crate::context::{ScfContext, ValidatorAddress};
use crate::keys::{read_consensus_key, read_p2p_key};
use crate::mempool::{Mempool, SubmitError};
use crate::signing::{Sm2Signer, Sm2Verifier};

/// Malachite's view of our config.
#[derive(Clone, Debug)]
struct EngineConfig {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl MalNodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    #[error("genesis {path}: {reason}")]
    Genesis { path: String, reason: String },
    #[error(transparent)]
    Store(#[from] scf_store::StoreError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("consensus engine: {0}")]
    Engine(String),
    #[error("client API: cannot listen on {addr}: {reason}")]
    Api { addr: String, reason: String },
    #[error(transparent)]
    Gossip(#[from] crate::gossip::GossipError),
    #[error("client API (HTTPS): {0}")]
    Https(crate::https::HttpsError),
}

/// A running node, in this process.
pub struct NodeHandle {
    chain: Arc<Chain>,
    engine: Option<EngineHandle>,
    tasks: Vec<JoinHandle<()>>,
    api_addr: Option<std::net::SocketAddr>,
    https_addr: Option<std::net::SocketAddr>,
    tx_listen_addrs: Vec<Multiaddr>,
    address: Option<ValidatorAddress>,
    /// The certificate each 国密 TLS endpoint presents now: `p2p`, `node-api`.
    tls: Vec<(&'static str, Arc<scf_gmtls::CurrentIdentity>)>,
}

impl NodeHandle {
    /// Start a node from its config, executing blocks with `modules` (the caller's business modules;
    /// the node knows none). Must be called inside a multi-threaded tokio runtime.
    pub async fn start(cfg: NodeConfig, modules: ModuleRegistry) -> Result<NodeHandle, NodeError> {
        let genesis_text = std::fs::read_to_string(&cfg.genesis)
            .map_err(|e| NodeError::Genesis { path: cfg.genesis.display().to_string(), reason: e.to_string() })?;
        let genesis = Genesis::from_json(&genesis_text)
            .map_err(|e| NodeError::Genesis { path: cfg.genesis.display().to_string(), reason: e.to_string() })?;
        std::fs::create_dir_all(&cfg.home)
            .map_err(|e| NodeError::Invalid { field: "home".into(), reason: e.to_string() })?;
        let signer = match &cfg.consensus_key {
            Some(p) => {
                let journal = crate::signing::SigningJournal::open(&cfg.home.join("signed.log"))
                    .map_err(|e| NodeError::Invalid { field: "home".into(), reason: format!("signed.log: {e}") })?;
                Some(Sm2Signer::new(read_consensus_key(p)?).with_journal(journal))
            }
            None => None,
        };
        let p2p = read_p2p_key(&cfg.p2p_key)?;
        let gossip_settings = crate::gossip::GossipSettings::from_config(&cfg.p2p)
            .map_err(|(field, reason)| NodeError::Invalid { field, reason })?;
        let gossip_key = p2p.clone();
        let store = Arc::new(Store::open(&cfg.home.join("db"))?);
        let executor = Arc::new(Executor::new(genesis.chain_id.clone(), modules));
        let tip = store.init_genesis(&executor, &genesis)?;
        info!(chain = %genesis.chain_id, height = tip.height, "store open");
        // The CAs recorded on chain, for endpoints that take their trust from there: read before any
        // link opens, then followed block by block.
        let chain_trust = if cfg.p2p.tls_trust_on_chain || cfg.api.tls_trust_on_chain {
            let state = store.latest_state()?;
            Some(
                crate::chain_trust::ChainTrust::read(&state)
                    .map_err(|reason| NodeError::Invalid { field: "tls_trust_on_chain".into(), reason })?,
            )
        } else {
            None
        };
        // Certificates, trust and CRLs are read before any link opens: a bad file stops the node here.
        let https = match cfg.api.https_listen {
            Some(_) => {
                Some(crate::https::HttpsApi::from_config(&cfg.api, chain_trust.as_ref()).map_err(NodeError::Https)?)
            }
            None => None,
        };
        let p2p_chain_trust = chain_trust.as_ref().filter(|_| cfg.p2p.tls_trust_on_chain);
        let p2p_tls = crate::p2p_tls::P2pTls::from_config(&cfg.p2p, p2p.public().to_peer_id(), p2p_chain_trust)
            .map_err(|e| NodeError::Invalid { field: "p2p".into(), reason: e.to_string() })?;
        match (&p2p_tls, p2p_chain_trust) {
            (Some(_), Some(t)) => info!(
                protocol = crate::p2p_tls::PROTOCOL,
                cas = %t.cas.join("; "),
                "p2p: 国密 TLS (TLS_SM4_GCM_SM3, curveSM2, sm2sig_sm3), trusting the organisation CAs recorded on chain"
            ),
            (Some(_), None) => {
                info!(protocol = crate::p2p_tls::PROTOCOL, "p2p: 国密 TLS (TLS_SM4_GCM_SM3, curveSM2, sm2sig_sm3)")
            }
            (None, _) if !cfg.p2p.persistent_peers.is_empty() || !cfg.p2p.tx_peers.is_empty() => warn!(
                "p2p: TCP + Noise (ed25519, X25519, ChaCha20-Poly1305) — not 国密; set p2p.tls_cert, tls_key and \
                 tls_trust (or tls_trust_on_chain) for 国密 TLS between nodes"
            ),
            (None, _) => {}
        }
        if let Some(s) = &signer {
            // A key outside the set is allowed: a validator joining by governance runs its node first and
            // starts voting at the activation height. Say so, in case it is a misconfiguration.
            let state = store.latest_state()?;
            let current = scf_ledger::validators::current_set(&state).map_err(scf_store::StoreError::from)?;
            let scheduled =
                scf_ledger::validators::latest_scheduled_set(&state).map_err(scf_store::StoreError::from)?;
            let key = s.public_key();
            if !current.iter().chain(&scheduled).any(|v| v.public_key == key) {
                warn!(
                    address = %s.address(),
                    "consensus_key is in no current or scheduled validator set: this node follows the chain and \
                     votes only once governance adds it (remove consensus_key to run a plain observer)"
                );
            }
        }
        let chain = Arc::new(Chain::new(store, executor, Mempool::new(cfg.mempool.clone()), genesis));

        let listen: Multiaddr = cfg
            .p2p
            .listen
            .parse()
            .map_err(|_| NodeError::Invalid { field: "p2p.listen".into(), reason: "not a multiaddr".into() })?;
        let mut peers = Vec::new();
        for (i, p) in cfg.p2p.persistent_peers.iter().enumerate() {
            peers.push(p.parse::<Multiaddr>().map_err(|_| NodeError::Invalid {
                field: format!("p2p.persistent_peers[{i}]"),
                reason: "not a multiaddr".into(),
            })?);
        }
        let p2p_cfg = P2pConfig {
            listen_addr: listen,
            persistent_peers: peers,
            // Peers come from the config, or — with trust from chain — from any node an organisation CA
            // recorded on chain certifies (the transport admits no other), so a member admitted by
            // governance connects without every operator adding its peer id.
            persistent_peers_only: !cfg.p2p.tls_trust_on_chain,
            pubsub_max_size: ByteSize::mib(20),
            rpc_max_size: ByteSize::b(crate::codec::MAX_SYNC_RESPONSE_BYTES as u64),
            ..P2pConfig::default()
        };
        let engine_cfg = EngineConfig {
            moniker: cfg.moniker.clone(),
            consensus: ConsensusConfig { p2p: p2p_cfg, ..ConsensusConfig::default() },
            value_sync: ValueSyncConfig {
                enabled: true,
                status_update_interval: Duration::from_millis(cfg.sync.status_interval_ms),
                request_timeout: Duration::from_millis(cfg.sync.request_timeout_ms),
                max_request_size: ByteSize::mib(1),
                max_response_size: ByteSize::b(crate::codec::MAX_SYNC_RESPONSE_BYTES as u64),
                batch_size: cfg.sync.batch_size.max(1),
                ..ValueSyncConfig::default()
            },
        };

        // Observers still need an address for the engine; one that is in no validator set.
        let address = signer.as_ref().map(Sm2Signer::address).unwrap_or(ValidatorAddress(scf_ledger::Address([0; 20])));
        let identity = match &signer {
            Some(s) => {
                let proof = s.validator_proof(p2p.public().to_peer_id().to_bytes());
                let bytes = ScfCodec.encode(&proof).map_err(|e| NodeError::Engine(e.to_string()))?;
                NetworkIdentity::new_validator(cfg.moniker.clone(), p2p, address.to_string(), bytes)
            }
            None => NetworkIdentity::new(cfg.moniker.clone(), p2p, None),
        };
        let identity = match &p2p_tls {
            Some(tls) => {
                let tls = tls.clone();
                identity.with_transport(malachitebft_network::TransportFactory(Arc::new(move |k| tls.transport(k))))
            }
            None => identity,
        };
        let consensus_ctx = match &signer {
            Some(s) => ConsensusContext::new_validator(address, Box::new(Sm2Verifier), Box::new(s.clone())),
            None => ConsensusContext::new_full_node(address, Box::new(Sm2Verifier)),
        };
        // Transaction gossip before consensus: a taken `tx_listen` port fails the start early.
        let mut tasks = Vec::new();
        let mut tx_listen_addrs = Vec::new();
        if let Some(settings) = gossip_settings {
            let gossip = crate::gossip::start(chain.clone(), gossip_key, settings, p2p_tls.as_ref()).await?;
            tasks.extend(gossip.tasks);
            tx_listen_addrs = gossip.listen_addrs;
        }
        let mut followers: Vec<Arc<dyn crate::chain_trust::FollowsChain>> = Vec::new();
        if let Some(tls) = &p2p_tls {
            tasks.extend(tls.spawn_watchers());
            if cfg.p2p.tls_trust_on_chain {
                followers.push(Arc::new(tls.clone()));
            }
        }
        if let Some(h) = https.as_ref().filter(|_| cfg.api.tls_trust_on_chain) {
            followers.push(Arc::new(h.chain_trust()));
        }
        if !followers.is_empty() {
            tasks.push(crate::chain_trust::follow(chain.clone(), followers));
        }
        let started = start_engine(
            ScfContext,
            engine_cfg,
            WalContext::new(cfg.home.join("wal").join("consensus.wal"), ScfCodec),
            NetworkContext::new(identity, ScfCodec),
            consensus_ctx,
            SyncContext::new(ScfCodec),
            RequestContext::new(100),
        )
        .await
        .map_err(|e| NodeError::Engine(format!("{e:#}")));
        let (channels, engine) = match started {
            Ok(s) => s,
            Err(e) => {
                tasks.iter().for_each(JoinHandle::abort);
                return Err(e);
            }
        };

        let app = App::new(chain.clone(), signer.clone(), cfg.produce(), cfg.home.join("proposed"));
        tasks.push(tokio::spawn(async move {
            if let Err(e) = app.run(channels).await {
                warn!("consensus app stopped: {e:#}");
            }
        }));
        let mut api_addr = None;
        if let Some(addr) = cfg.api.listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| NodeError::Api { addr: addr.to_string(), reason: e.to_string() })?;
            api_addr = listener.local_addr().ok();
            let router = crate::api::router(chain.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    warn!("client API stopped: {e}");
                }
            }));
            info!(addr = ?api_addr, "client API listening");
        }
        let mut tls_identities = Vec::new();
        if let Some(t) = &p2p_tls {
            tls_identities.push(("p2p", t.current().clone()));
        }
        if let Some(h) = &https {
            tls_identities.push(("node-api", h.current().clone()));
        }
        let mut https_addr = None;
        if let (Some(addr), Some(https)) = (cfg.api.https_listen, https) {
            let listener = match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(e) => {
                    tasks.iter().for_each(JoinHandle::abort);
                    return Err(NodeError::Api { addr: addr.to_string(), reason: e.to_string() });
                }
            };
            https_addr = listener.local_addr().ok();
            tasks.extend(https.spawn(listener, crate::api::router(chain.clone())));
            info!(addr = ?https_addr, "client API (HTTPS, mutual 国密 TLS) listening");
        }
        Ok(NodeHandle {
            chain,
            engine: Some(engine),
            tasks,
            api_addr,
            https_addr,
            tx_listen_addrs,
            address: signer.map(|s| s.address()),
            tls: tls_identities,
        })
    }

    /// The shared ledger (store, executor, mempool) for embedding code such as the GraphQL layer.
    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }
    pub fn store(&self) -> &Arc<Store> {
        &self.chain.store
    }
    pub fn genesis(&self) -> &Genesis {
        &self.chain.genesis
    }
    /// This node's validator address (None for an observer).
    pub fn validator_address(&self) -> Option<scf_ledger::Address> {
        self.address.map(|a| a.0)
    }
    /// Where the client API listens, if enabled.
    pub fn api_addr(&self) -> Option<std::net::SocketAddr> {
        self.api_addr
    }
    /// Where the HTTPS client API listens (`api.https_listen` with the port bound), if enabled.
    pub fn https_addr(&self) -> Option<std::net::SocketAddr> {
        self.https_addr
    }
    /// This node's 国密 TLS endpoints (`p2p`, `node-api`) and the certificate each presents, which
    /// rotation replaces while it runs: for the portal's expiry warnings.
    pub fn tls_identities(&self) -> Vec<(&'static str, Arc<scf_gmtls::CurrentIdentity>)> {
        self.tls.clone()
    }
    /// Where transaction gossip listens (`p2p.tx_listen` with the port bound), if enabled.
    pub fn tx_listen_addrs(&self) -> &[Multiaddr] {
        &self.tx_listen_addrs
    }
    pub fn submit(&self, tx: &SignedTx) -> Result<Hash32, SubmitError> {
        self.chain.submit(tx)
    }
    pub fn submit_batch(&self, txs: &[SignedTx]) -> Vec<Result<Hash32, SubmitError>> {
        self.chain.submit_raw(txs.iter().map(SignedTx::to_bytes).collect(), true)
    }
    pub fn tx_status(&self, id: &Hash32) -> Result<TxStatus, scf_store::StoreError> {
        self.chain.tx_status(id)
    }
    pub fn tip(&self) -> Result<ChainTip, scf_store::StoreError> {
        self.chain.tip()
    }
    pub fn block(&self, height: u64) -> Result<Option<Block>, scf_store::StoreError> {
        self.chain.block(height)
    }
    pub fn tx_proof(
        &self,
        id: &Hash32,
    ) -> Result<Option<(TxInclusionProof, Option<CommitCertificate>)>, scf_store::StoreError> {
        self.chain.tx_proof(id)
    }
    /// Every block committed from now on, with its receipts.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBlock>> {
        self.chain.subscribe()
    }

    /// Wait until `id` is committed (or `timeout` passes); the last status seen.
    pub async fn wait_committed(&self, id: &Hash32, timeout: Duration) -> Result<TxStatus, crate::WaitError> {
        self.chain.wait_committed(id, timeout, false).await
    }

    /// Stop consensus, networking and the API.
    pub async fn shutdown(mut self) {
        if let Some(engine) = self.engine.take() {
            engine.actor.stop(None);
            let _ = tokio::time::timeout(Duration::from_secs(5), engine.handle).await;
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

//! The node configuration file (TOML). Unknown keys are refused and every error names the field, so a
//! typo in a consortium member's config fails at start-up rather than silently using a default.
//!
//! Relative paths are resolved against the directory of the config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use malachitebft_core_types::LinearTimeouts;
use serde::{Deserialize, Serialize};

use crate::app::ProduceConfig;
use crate::mempool::MempoolConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: {field}: {reason}")]
    Invalid { path: PathBuf, field: String, reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Human-readable node name (logs, metrics).
    pub moniker: String,
    /// Data directory: RocksDB under `db/`, consensus WAL under `wal/`.
    pub home: PathBuf,
    /// The consortium's genesis file.
    pub genesis: PathBuf,
    /// SM2 consensus key (PKCS#8 PEM). Absent: a non-voting observer that follows the chain.
    #[serde(default)]
    pub consensus_key: Option<PathBuf>,
    /// libp2p identity (hex of the protobuf-encoded ed25519 key).
    pub p2p_key: PathBuf,
    pub p2p: P2pSection,
    #[serde(default)]
    pub api: ApiSection,
    #[serde(default)]
    pub consensus: ConsensusSection,
    #[serde(default)]
    pub sync: SyncSection,
    #[serde(default)]
    pub mempool: MempoolConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pSection {
    /// libp2p listen multiaddr, e.g. `/ip4/127.0.0.1/tcp/27000`.
    pub listen: String,
    /// The only peers this node connects to or accepts (`/ip4/…/tcp/…/p2p/<peer id>`).
    #[serde(default)]
    pub persistent_peers: Vec<String>,
    /// Transaction gossip listen multiaddr (its own libp2p swarm and port, see [`crate::gossip`]),
    /// e.g. `/ip4/0.0.0.0/tcp/27100`. Absent (and no `tx_peers`): no transaction gossip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_listen: Option<String>,
    /// Transaction gossip peers (`/ip4/…/tcp/…/p2p/<peer id>`), dialled and redialled with backoff.
    /// Only these peers and the peer ids in `persistent_peers` may connect to the gossip port.
    #[serde(default)]
    pub tx_peers: Vec<String>,
    /// 国密 TLS between nodes ([`crate::p2p_tls`]): this node's certificate (kind `node`, from its
    /// organisation's CA, naming its peer id as `--san urn:libp2p:peer:<peer id>`). Absent: TCP + Noise
    /// (ed25519, X25519, ChaCha20-Poly1305), which is not 国密 and is logged as such.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// The SM2 key `tls_cert` certifies (PKCS#8 PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// PEM bundle of the organisation CA certificates whose nodes may connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_trust: Option<PathBuf>,
    /// Instead of `tls_trust`: trust exactly the organisation CAs recorded on chain (genesis, then
    /// governance), and honour the certificates revoked on chain, as of each committed block
    /// ([`crate::chain_trust`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_trust_on_chain: bool,
    /// CRL files of those CAs; re-read when they change: a revoked node is refused at its next handshake
    /// and its open connections are closed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_crls: Vec<PathBuf>,
}

impl P2pSection {
    /// Listen on `listen` with the given persistent peers and no transaction gossip.
    pub fn new(listen: impl Into<String>, persistent_peers: Vec<String>) -> Self {
        P2pSection {
            listen: listen.into(),
            persistent_peers,
            tx_listen: None,
            tx_peers: Vec::new(),
            tls_cert: None,
            tls_key: None,
            tls_trust: None,
            tls_trust_on_chain: false,
            tls_crls: Vec::new(),
        }
    }

    /// Whether the links to other nodes use 国密 TLS.
    pub fn gm_tls(&self) -> bool {
        self.tls_cert.is_some()
    }

    fn validate_tls(&self) -> Result<(), (String, String)> {
        let given = [&self.tls_cert, &self.tls_key, &self.tls_trust];
        if self.tls_trust_on_chain && self.tls_trust.is_some() {
            return Err((
                "p2p.tls_trust".into(),
                "give either tls_trust or tls_trust_on_chain: the CAs come from one place".into(),
            ));
        }
        if given.iter().any(|v| v.is_some()) || self.tls_trust_on_chain || !self.tls_crls.is_empty() {
            for (field, v) in [("p2p.tls_cert", &self.tls_cert), ("p2p.tls_key", &self.tls_key)] {
                if v.is_none() {
                    return Err((field.to_string(), "required with the other p2p.tls_* settings".into()));
                }
            }
            if self.tls_trust.is_none() && !self.tls_trust_on_chain {
                return Err((
                    "p2p.tls_trust".into(),
                    "required with the other p2p.tls_* settings (or set tls_trust_on_chain = true)".into(),
                ));
            }
        }
        Ok(())
    }

    fn resolve(&mut self, fix: impl Fn(&mut PathBuf)) {
        for p in [&mut self.tls_cert, &mut self.tls_key, &mut self.tls_trust].into_iter().flatten() {
            fix(p);
        }
        self.tls_crls.iter_mut().for_each(fix);
    }
}

/// The peer id a multiaddr ends in (`…/p2p/<peer id>`), if any.
pub fn peer_id_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(id)) => Some(id),
        _ => None,
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    /// Plain-HTTP client API for tools on this machine; must be a loopback address unless
    /// `plain_remote` says otherwise. Absent: no plain API.
    pub listen: Option<SocketAddr>,
    /// The same API over HTTPS with mutual 国密 TLS (RFC 8998) for other machines: callers present a
    /// certificate from an organisation CA in `tls_trust` ([`crate::https`]). Absent: no HTTPS API.
    pub https_listen: Option<SocketAddr>,
    /// This node's TLS server certificate (PEM, kind `server` or `node` from its organisation's CA).
    pub tls_cert: Option<PathBuf>,
    /// The key `tls_cert` certifies (SM2, PKCS#8 PEM).
    pub tls_key: Option<PathBuf>,
    /// PEM bundle of the organisation CA certificates whose client certificates may call.
    pub tls_trust: Option<PathBuf>,
    /// Instead of `tls_trust`: the organisation CAs recorded on chain, and the certificates revoked on
    /// chain, as of each committed block ([`crate::chain_trust`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_trust_on_chain: bool,
    /// CRL files of those CAs; re-read when they change, so a revocation needs no restart.
    pub tls_crls: Vec<PathBuf>,
    /// Only these organisations (the CA certificate's O=) may call over HTTPS; empty: every one in
    /// `tls_trust`.
    pub allowed_orgs: Vec<String>,
    /// Let the plain API listen on a non-loopback address: only for closed lab networks (the fault
    /// harness's network namespaces). It has no authentication and no encryption.
    pub plain_remote: bool,
}

impl ApiSection {
    /// The plain API on `addr` and nothing else.
    pub fn plain(addr: SocketAddr) -> Self {
        ApiSection { listen: Some(addr), ..Default::default() }
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let bad = |f: &str, r: String| Err((f.to_string(), r));
        if let Some(addr) = self.listen {
            if !addr.ip().is_loopback() && !self.plain_remote {
                return bad(
                    "api.listen",
                    format!(
                        "{addr} is not a loopback address: the plain client API has no authentication or \
                         encryption and serves tools on this machine only; serve other machines with \
                         api.https_listen (mutual 国密 TLS)"
                    ),
                );
            }
        }
        if self.https_listen.is_some() {
            for (field, v) in [("api.tls_cert", &self.tls_cert), ("api.tls_key", &self.tls_key)] {
                if v.is_none() {
                    return bad(field, "required with api.https_listen".into());
                }
            }
            match (&self.tls_trust, self.tls_trust_on_chain) {
                (None, false) => {
                    return bad(
                        "api.tls_trust",
                        "required with api.https_listen (or api.tls_trust_on_chain = true)".into(),
                    )
                }
                (Some(_), true) => {
                    return bad(
                        "api.tls_trust",
                        "give either tls_trust or tls_trust_on_chain: the CAs come from one place".into(),
                    )
                }
                _ => {}
            }
        } else if self.tls_cert.is_some()
            || self.tls_key.is_some()
            || self.tls_trust.is_some()
            || self.tls_trust_on_chain
            || !self.tls_crls.is_empty()
            || !self.allowed_orgs.is_empty()
        {
            return bad("api.https_listen", "TLS settings are given but no api.https_listen to use them".into());
        }
        Ok(())
    }

    fn resolve(&mut self, fix: impl Fn(&mut PathBuf)) {
        for p in [&mut self.tls_cert, &mut self.tls_key, &mut self.tls_trust].into_iter().flatten() {
            fix(p);
        }
        self.tls_crls.iter_mut().for_each(fix);
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusSection {
    pub timeout_propose_ms: u64,
    pub timeout_prevote_ms: u64,
    pub timeout_precommit_ms: u64,
    /// Extra time per round, so rounds lengthen until a slow network makes progress.
    pub timeout_delta_ms: u64,
    pub empty_block_wait_ms: u64,
    pub max_block_txs: usize,
    pub max_block_bytes: usize,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        ConsensusSection {
            timeout_propose_ms: 2000,
            timeout_prevote_ms: 1000,
            timeout_precommit_ms: 1000,
            timeout_delta_ms: 500,
            empty_block_wait_ms: 1000,
            max_block_txs: 5000,
            max_block_bytes: 3 * 1024 * 1024,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSection {
    pub status_interval_ms: u64,
    pub request_timeout_ms: u64,
    pub batch_size: usize,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection { status_interval_ms: 1000, request_timeout_ms: 5000, batch_size: 10 }
    }
}

/// Read a TOML file into `T`; an error names the key (`mempool.max_tx`) and the reason.
pub fn load_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Read { path: path.to_path_buf(), reason: e.to_string() })?;
    parse_toml(path, &text)
}

/// Parse TOML text (from `path`, for messages) into `T`, naming the key of any error.
pub fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    let invalid = |field: String, reason: String| ConfigError::Invalid { path: path.to_path_buf(), field, reason };
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let at = e.span().map(|s| format!("at byte {}", s.start)).unwrap_or_else(|| "file".into());
        invalid(at, e.message().to_string())
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { "file".to_string() } else { key };
        invalid(key, e.into_inner().message().to_string())
    })
}

impl NodeConfig {
    /// Read and check a config file; relative paths become relative to its directory.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let mut cfg: NodeConfig = load_toml(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        cfg.resolve(base);
        cfg.validate().map_err(|(field, reason)| ConfigError::Invalid { path: path.to_path_buf(), field, reason })?;
        Ok(cfg)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Make relative paths relative to `base` (the config file's directory).
    pub fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.home);
        fix(&mut self.genesis);
        fix(&mut self.p2p_key);
        if let Some(k) = self.consensus_key.as_mut() {
            fix(k);
        }
        self.p2p.resolve(fix);
        self.api.resolve(fix);
    }

    /// Field-level checks serde cannot express.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |f: &str, r: &str| Err((f.to_string(), r.to_string()));
        if self.moniker.is_empty() {
            return bad("moniker", "must not be empty");
        }
        if self.p2p.listen.parse::<Multiaddr>().is_err() {
            return bad("p2p.listen", "not a multiaddr (e.g. /ip4/127.0.0.1/tcp/27000)");
        }
        for (i, p) in self.p2p.persistent_peers.iter().enumerate() {
            if p.parse::<Multiaddr>().is_err() {
                return bad(&format!("p2p.persistent_peers[{i}]"), "not a multiaddr");
            }
        }
        // `tx_listen` / `tx_peers` are parsed (and refused, naming the field) where the node reads them.
        crate::gossip::GossipSettings::from_config(&self.p2p)?;
        self.p2p.validate_tls()?;
        if self.p2p.tx_listen.as_ref() == Some(&self.p2p.listen) {
            return bad("p2p.tx_listen", "must differ from p2p.listen (transaction gossip has its own port)");
        }
        let c = &self.consensus;
        if c.timeout_propose_ms == 0 || c.timeout_prevote_ms == 0 || c.timeout_precommit_ms == 0 {
            return bad("consensus.timeout_*_ms", "must be positive");
        }
        if c.max_block_txs == 0 {
            return bad("consensus.max_block_txs", "must be positive");
        }
        if c.max_block_bytes == 0 || c.max_block_bytes > 16 * 1024 * 1024 {
            return bad("consensus.max_block_bytes", "must be 1..=16 MiB (a proposal travels in one gossip message)");
        }
        if self.mempool.max_txs == 0 || self.mempool.max_per_sender == 0 {
            return bad("mempool", "max_txs and max_per_sender must be positive");
        }
        self.api.validate()
    }

    pub(crate) fn produce(&self) -> ProduceConfig {
        let c = &self.consensus;
        let ms = Duration::from_millis;
        let timeouts = LinearTimeouts {
            propose: ms(c.timeout_propose_ms),
            propose_delta: ms(c.timeout_delta_ms),
            prevote: ms(c.timeout_prevote_ms),
            prevote_delta: ms(c.timeout_delta_ms),
            precommit: ms(c.timeout_precommit_ms),
            precommit_delta: ms(c.timeout_delta_ms),
            rebroadcast: ms(c.timeout_propose_ms + c.timeout_prevote_ms + c.timeout_precommit_ms),
            max_timeout: Duration::from_secs(30),
        };
        ProduceConfig {
            timeouts,
            empty_block_wait: ms(c.empty_block_wait_ms),
            max_block_txs: c.max_block_txs,
            max_block_bytes: c.max_block_bytes,
            max_sync_batch: self.sync.batch_size.max(1) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
moniker = "n0"
home = "data"
genesis = "genesis.json"
p2p_key = "p2p.key"
[p2p]
listen = "/ip4/127.0.0.1/tcp/27000"
"#;

    #[test]
    fn minimal_config_loads_and_resolves_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("node.toml");
        std::fs::write(&p, MINIMAL).expect("write");
        let cfg = NodeConfig::load(&p).expect("load");
        assert_eq!(cfg.home, dir.path().join("data"));
        assert!(cfg.consensus_key.is_none(), "no key: observer");
    }

    #[test]
    fn unknown_field_and_bad_values_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("node.toml");
        std::fs::write(&p, format!("{MINIMAL}\n[mempool]\nmax_tx = 3\n")).expect("write");
        let e = NodeConfig::load(&p).expect_err("unknown field").to_string();
        assert!(e.contains("max_tx"), "{e}");
        std::fs::write(&p, MINIMAL.replace("/ip4/127.0.0.1/tcp/27000", "localhost:1")).expect("write");
        let e = NodeConfig::load(&p).expect_err("bad multiaddr").to_string();
        assert!(e.contains("p2p.listen"), "{e}");
    }

    #[test]
    fn transaction_gossip_fields_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("node.toml");
        let peer = "12D3KooWEbGntN8YxrodoGmta8bk9UqFdaVBDE3n7mKaSmeCtuN4";
        let with = |extra: &str| MINIMAL.replace("[p2p]\n", &format!("[p2p]\n{extra}\n"));
        std::fs::write(
            &p,
            with(&format!(
                "tx_listen = \"/ip4/127.0.0.1/tcp/27100\"\ntx_peers = [\"/ip4/10.0.0.12/tcp/27100/p2p/{peer}\"]"
            )),
        )
        .expect("write");
        let cfg = NodeConfig::load(&p).expect("load");
        assert_eq!(cfg.p2p.tx_peers.len(), 1);
        let tx_peer: Multiaddr = cfg.p2p.tx_peers[0].parse().expect("multiaddr");
        assert_eq!(peer_id_of(&tx_peer).map(|p| p.to_base58()).as_deref(), Some(peer));

        for (extra, field) in [
            ("tx_listen = \"127.0.0.1:27100\"", "p2p.tx_listen"),
            ("tx_listen = \"/ip4/127.0.0.1/tcp/27000\"", "p2p.tx_listen"),
            ("tx_peers = [\"/ip4/10.0.0.12/tcp/27100\"]", "p2p.tx_peers[0]"),
            ("tx_peers = [\"nonsense\"]", "p2p.tx_peers[0]"),
        ] {
            std::fs::write(&p, with(extra)).expect("write");
            let e = NodeConfig::load(&p).expect_err(extra).to_string();
            assert!(e.contains(field), "{extra}: {e}");
        }
        // The HTTP relay is gone: an old config says so at start-up rather than silently not relaying.
        std::fs::write(&p, format!("{MINIMAL}[api]\nrelay_to = [\"http://10.0.0.12:26658\"]\n")).expect("write");
        let e = NodeConfig::load(&p).expect_err("relay_to").to_string();
        assert!(e.contains("relay_to"), "{e}");
    }
}

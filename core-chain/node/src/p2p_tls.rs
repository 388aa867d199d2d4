//! 国密 TLS between nodes: a libp2p security upgrade that runs TLS 1.3 with the RFC 8998 suite
//! (TLS_SM4_GCM_SM3, curveSM2, sm2sig_sm3, see `scf-gmtls`) in place of Noise, for both of the node's
//! swarms: consensus (Malachite's network, through the vendored `NetworkIdentity::with_transport`) and
//! transaction gossip ([`crate::gossip`]).
//!
//! - **Both sides present a certificate** from an organisation CA in `p2p.tls_trust` (`scf ca issue
//!   --kind node`, which carries serverAuth and clientAuth), valid now and not revoked. Anything else —
//!   no certificate, another CA, an expired, revoked or wrong-purpose one, a non-国密 suite — fails the
//!   handshake; no libp2p protocol is ever spoken to such a peer.
//! - **The certificate names the peer id.** libp2p identifies peers by their ed25519 key (Malachite
//!   signs gossip and identify records with it), so a node certificate carries its peer id as the
//!   subjectAltName URI `urn:libp2p:peer:<peer id>` ([`PEER_SAN_PREFIX`]). The upgrade yields that peer
//!   id: the organisation's CA, not the connecting host, vouches that this certificate is that node.
//!   A dialler that expected another peer id is refused by the swarm (`WrongPeerId`), and the allow-lists
//!   (`persistent_peers`, `tx_peers`) still apply on top.
//! - **Revocation without a restart.** `p2p.tls_crls` are re-read when they change. Every handshake
//!   consults the current set, and connections already open with a certificate that is now revoked fail
//!   their next read or write, so the peer is cut off at once and refused when it redials.
//! - **Each side proves it holds its peer id's key.** A CA vouches for what a certificate says, but
//!   another member's CA could name any peer id. So right after the handshake each side sends its
//!   libp2p public key and an ed25519 signature over the TLS exporter value of this very session
//!   (RFC 8446 §7.5, label [`PROOF_LABEL`], and the side it plays) — the channel binding libp2p's own
//!   TLS uses. The peer id of that key must be the one the certificate names: a certificate naming
//!   someone else's node is useless without that node's ed25519 key, and a proof cannot be replayed
//!   into another session.
//! - The protocol name is `/scf/gmtls/1.0.0`, so a node configured for Noise and one configured for
//!   国密 TLS fail multistream negotiation instead of speaking past each other.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_rustls::TlsStream;
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::{Boxed, Transport};
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade, Version};
use libp2p::core::UpgradeInfo;
use libp2p::futures::future::BoxFuture;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt};
use libp2p::{identity, tcp, yamux, PeerId};
use scf_ca::{AnyRevocation, RevocationCheck, RevokedSerials, SharedRevocations, SmCertificate, TrustStore};
use scf_gmtls::live::{LiveConnections, RevocationFlag};
use scf_gmtls::rustls::pki_types::ServerName;
use scf_gmtls::rustls::{ClientConfig, CommonState, ServerConfig};
use scf_gmtls::{ClientAuth, CurrentIdentity, Identity, Trust};
use tokio::task::JoinHandle;
use tracing::info;

use crate::chain_trust::{ChainTrust, FollowsChain};
use crate::config::P2pSection;
use crate::https::{read, read_crls, watch_crls, HttpsError};

/// The multistream-select name of the upgrade.
pub const PROTOCOL: &str = "/scf/gmtls/1.0.0";
/// How a node certificate names its libp2p peer id (subjectAltName URI).
pub const PEER_SAN_PREFIX: &str = "urn:libp2p:peer:";
/// The TLS exporter label of the peer-key proof.
pub const PROOF_LABEL: &[u8] = b"EXPORTER-scf-libp2p-peer-key";
/// Longest public key or signature a proof may carry.
const MAX_PROOF_PART: usize = 1024;
/// A connection that has not finished TCP, negotiation, handshake and multiplexing by then is dropped.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a peer was refused after a handshake that TLS itself accepted.
#[derive(Debug, thiserror::Error)]
pub enum P2pTlsError {
    #[error("国密 TLS handshake: {0}")]
    Handshake(io::Error),
    #[error("peer certificate: {0}")]
    Certificate(String),
    #[error("peer key proof: {0}")]
    Proof(String),
}

/// What this side signs: the session's exporter value and the side it plays, so a proof is good for one
/// session and one direction only.
fn proof_message(conn: &impl ExportKeyingMaterial, role: &[u8]) -> Result<Vec<u8>, P2pTlsError> {
    let mut ekm = [0u8; 32];
    conn.export(&mut ekm).map_err(|e| P2pTlsError::Proof(format!("TLS exporter: {e}")))?;
    let mut m = ekm.to_vec();
    m.extend_from_slice(role);
    Ok(m)
}

/// Both rustls connection sides can export keying material.
trait ExportKeyingMaterial {
    fn export(&self, out: &mut [u8]) -> Result<(), scf_gmtls::rustls::Error>;
}
impl ExportKeyingMaterial for scf_gmtls::rustls::ClientConnection {
    fn export(&self, out: &mut [u8]) -> Result<(), scf_gmtls::rustls::Error> {
        self.export_keying_material(out, PROOF_LABEL, None).map(|_| ())
    }
}
impl ExportKeyingMaterial for scf_gmtls::rustls::ServerConnection {
    fn export(&self, out: &mut [u8]) -> Result<(), scf_gmtls::rustls::Error> {
        self.export_keying_material(out, PROOF_LABEL, None).map(|_| ())
    }
}

async fn write_part<S: AsyncWrite + Unpin>(s: &mut S, part: &[u8]) -> io::Result<()> {
    let len =
        u16::try_from(part.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "proof part too long"))?;
    s.write_all(&len.to_be_bytes()).await?;
    s.write_all(part).await
}

async fn read_part<S: AsyncRead + Unpin>(s: &mut S) -> Result<Vec<u8>, P2pTlsError> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.map_err(|e| P2pTlsError::Proof(format!("reading: {e}")))?;
    let len = usize::from(u16::from_be_bytes(len));
    if len == 0 || len > MAX_PROOF_PART {
        return Err(P2pTlsError::Proof(format!("a part of {len} bytes")));
    }
    let mut part = vec![0u8; len];
    s.read_exact(&mut part).await.map_err(|e| P2pTlsError::Proof(format!("reading: {e}")))?;
    Ok(part)
}

/// Send our key and signature over `mine`, read the peer's over `theirs`, and return the peer id the
/// peer proved it holds the key of.
async fn exchange_proofs<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    key: &identity::Keypair,
    mine: &[u8],
    theirs: &[u8],
) -> Result<PeerId, P2pTlsError> {
    let sig = key.sign(mine).map_err(|e| P2pTlsError::Proof(format!("signing: {e}")))?;
    let send = async {
        write_part(stream, &key.public().encode_protobuf()).await?;
        write_part(stream, &sig).await?;
        stream.flush().await
    };
    send.await.map_err(|e| P2pTlsError::Proof(format!("sending: {e}")))?;
    let public = read_part(stream).await?;
    let sig = read_part(stream).await?;
    let public = identity::PublicKey::try_decode_protobuf(&public)
        .map_err(|e| P2pTlsError::Proof(format!("not a libp2p public key: {e}")))?;
    if !public.verify(theirs, &sig) {
        return Err(P2pTlsError::Proof("the signature over this session does not verify".into()));
    }
    Ok(public.to_peer_id())
}

/// The peer id a certificate names, if exactly one.
pub fn peer_id_in(cert: &SmCertificate) -> Result<PeerId, String> {
    let sans = cert.subject_alt_names().map_err(|e| e.to_string())?;
    let mut ids = sans.iter().filter_map(|s| s.strip_prefix(PEER_SAN_PREFIX));
    let id = ids.next().ok_or_else(|| {
        format!("{} names no libp2p peer id (subjectAltName {PEER_SAN_PREFIX}<peer id>)", cert.subject())
    })?;
    if ids.next().is_some() {
        return Err(format!("{} names more than one libp2p peer id", cert.subject()));
    }
    id.parse().map_err(|_| format!("{} names {PEER_SAN_PREFIX}{id}, which is not a peer id", cert.subject()))
}

struct Shared {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    trust: Trust,
    live: LiveConnections,
}

/// The node's 国密 TLS settings, read from `[p2p]`: its identity, the CAs it trusts, the CRLs.
#[derive(Clone)]
pub struct P2pTls {
    shared: Arc<Shared>,
    /// From the CRL files.
    revocations: Arc<SharedRevocations>,
    /// Recorded on chain (empty unless `tls_trust_on_chain`).
    chain_revocations: Arc<SharedRevocations>,
    crl_files: Vec<PathBuf>,
    peer_id: PeerId,
    /// The certificate presented at each handshake, and the files it is re-read from.
    current: Arc<CurrentIdentity>,
    /// `tls_cert` and `tls_key`, re-read when they change.
    identity_files: Option<(PathBuf, PathBuf)>,
    /// `tls_trust`, re-read when it changes (None when the CAs come from chain).
    trust_file: Option<PathBuf>,
}

impl std::fmt::Debug for P2pTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2pTls").field("peer_id", &self.peer_id).field("crls", &self.crl_files).finish()
    }
}

impl P2pTls {
    /// Read `[p2p] tls_*` and check they fit: the key is the certificate's, the certificate is a node
    /// certificate the trusted CAs vouch for and names `me`, every CRL verifies. `None` without `tls_cert`.
    /// With `tls_trust_on_chain`, the trusted CAs and on-chain revocations are `chain`'s (read from the
    /// node's latest state; [`crate::chain_trust::follow`] keeps them current).
    pub fn from_config(p2p: &P2pSection, me: PeerId, chain: Option<&ChainTrust>) -> Result<Option<Self>, HttpsError> {
        let (Some(cert_path), Some(key_path)) = (&p2p.tls_cert, &p2p.tls_key) else {
            return Ok(None);
        };
        let identity = Identity::from_pem(&read("p2p.tls_cert", cert_path)?, &read("p2p.tls_key", key_path)?)
            .map_err(|e| HttpsError::Invalid { field: "p2p.tls_cert", reason: e.to_string() })?;
        let named = peer_id_in(identity.certificate())
            .map_err(|reason| HttpsError::Invalid { field: "p2p.tls_cert", reason })?;
        if named != me {
            return Err(HttpsError::Invalid {
                field: "p2p.tls_cert",
                reason: format!("names peer {named}, but p2p_key is peer {me}"),
            });
        }
        let (store, on_chain) = match (&p2p.tls_trust, p2p.tls_trust_on_chain, chain) {
            (Some(trust_path), false, _) => {
                let store = TrustStore::from_pem(&read("p2p.tls_trust", trust_path)?).map_err(|e| {
                    HttpsError::File { field: "p2p.tls_trust", path: trust_path.clone(), reason: e.to_string() }
                })?;
                (store, RevokedSerials::new())
            }
            (None, true, Some(chain)) if !chain.store.anchors().is_empty() => {
                (chain.store.clone(), chain.revoked.clone())
            }
            (None, true, _) => {
                return Err(HttpsError::Invalid {
                    field: "p2p.tls_trust_on_chain",
                    reason: "no organisation CA is recorded on chain (genesis app_state.org.orgs[].ca_certs, or an \
                             AddOrgCa proposal); record them first or give p2p.tls_trust"
                        .into(),
                })
            }
            _ => {
                return Err(HttpsError::Invalid { field: "p2p.tls_trust", reason: "required with p2p.tls_cert".into() })
            }
        };
        let revocations = Arc::new(SharedRevocations::new(read_crls("p2p.tls_crls", &p2p.tls_crls, &store)?));
        let tls = Self::with_chain_revocations(&identity, store, revocations, on_chain, p2p.tls_crls.clone(), me)?;
        Ok(Some(P2pTls {
            identity_files: Some((cert_path.clone(), key_path.clone())),
            trust_file: p2p.tls_trust.clone().filter(|_| !p2p.tls_trust_on_chain),
            ..tls
        }))
    }

    /// From parts already read (tests, tools).
    pub fn new(
        identity: &Identity,
        store: TrustStore,
        revocations: Arc<SharedRevocations>,
        crl_files: Vec<PathBuf>,
        me: PeerId,
    ) -> Result<Option<Self>, HttpsError> {
        Self::with_chain_revocations(identity, store, revocations, RevokedSerials::new(), crl_files, me).map(Some)
    }

    fn with_chain_revocations(
        identity: &Identity,
        store: TrustStore,
        revocations: Arc<SharedRevocations>,
        on_chain: RevokedSerials,
        crl_files: Vec<PathBuf>,
        me: PeerId,
    ) -> Result<Self, HttpsError> {
        let chain_revocations = Arc::new(SharedRevocations::new(on_chain));
        let any: Arc<dyn RevocationCheck> =
            Arc::new(AnyRevocation(vec![revocations.clone(), chain_revocations.clone()]));
        let trust = Trust::new(store, any);
        let invalid = |e: scf_gmtls::GmTlsError| HttpsError::Invalid { field: "p2p.tls_cert", reason: e.to_string() };
        let current = CurrentIdentity::new(identity.clone());
        // Nodes identify each other by the peer id in the certificate, not by the address dialled.
        let server =
            scf_gmtls::server_config_rotating(current.clone(), trust.clone(), ClientAuth::Required).map_err(invalid)?;
        let client = scf_gmtls::client_config_rotating(Some(current.clone()), trust.clone(), false).map_err(invalid)?;
        let shared = Arc::new(Shared { server, client, trust, live: LiveConnections::default() });
        Ok(P2pTls {
            shared,
            revocations,
            chain_revocations,
            crl_files,
            peer_id: me,
            current,
            identity_files: None,
            trust_file: None,
        })
    }

    /// The certificate new handshakes present.
    pub fn current(&self) -> &Arc<CurrentIdentity> {
        &self.current
    }

    /// The revocation set the handshakes consult (replace it to revoke without CRL files).
    pub fn revocations(&self) -> &Arc<SharedRevocations> {
        &self.revocations
    }

    /// Close open connections whose certificate is now revoked (by a CRL or on chain), or whose CA is
    /// no longer trusted; returns how many.
    pub fn sweep(&self) -> usize {
        self.shared.live.sweep_with("p2p", |issuer, serial| self.shared.trust.refusal(issuer, serial))
    }

    /// The security upgrade (for a libp2p transport built elsewhere) of a swarm whose identity is `key`.
    pub fn upgrade(&self, key: &identity::Keypair) -> Upgrade {
        Upgrade { shared: self.shared.clone(), key: key.clone() }
    }

    /// TCP, then this upgrade, then Yamux: a transport for a swarm whose identity is `key`.
    pub fn transport(&self, key: &identity::Keypair) -> Boxed<(PeerId, StreamMuxerBox)> {
        tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .upgrade(Version::V1Lazy)
            .authenticate(self.upgrade(key))
            .multiplex(yamux::Config::default())
            .timeout(UPGRADE_TIMEOUT)
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .boxed()
    }

    /// Watch the files: re-read the CRLs when they change and close the connections they revoke; present
    /// a new certificate (`tls_cert` / `tls_key` replaced) from the next handshake on; export and log the
    /// certificate's expiry ([`scf_gmtls::rotation`]).
    pub fn spawn_watchers(&self) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some(trust) = &self.trust_file {
            tasks.push(tokio::spawn(scf_gmtls::crl_files::watch_trust(
                "p2p (国密 TLS)",
                "p2p.tls_trust",
                trust.clone(),
                self.shared.trust.clone(),
            )));
        }
        if let Some((cert, key)) = &self.identity_files {
            let me = self.peer_id;
            tasks.push(tokio::spawn(scf_gmtls::rotation::watch_identity(
                "p2p",
                cert.clone(),
                key.clone(),
                self.current.clone(),
                self.shared.trust.clone(),
                move |id| match peer_id_in(id.certificate())? {
                    named if named == me => Ok(()),
                    named => Err(format!("names peer {named}, but p2p_key is peer {me}")),
                },
            )));
        }
        if self.crl_files.is_empty() {
            return tasks;
        }
        let this = self.clone();
        tasks.push(tokio::spawn(watch_crls(
            "p2p (国密 TLS)",
            "p2p.tls_crls",
            self.crl_files.clone(),
            self.shared.trust.clone(),
            self.revocations.clone(),
            move || {
                let cut = this.sweep();
                if cut > 0 {
                    info!(closed = cut, "p2p: connections with revoked certificates closed");
                }
            },
        )));
        tasks
    }
}

impl FollowsChain for P2pTls {
    fn apply_chain_trust(&self, trust: &ChainTrust) -> usize {
        crate::chain_trust::apply_to(&self.shared.trust, &self.chain_revocations, trust);
        self.sweep()
    }
}

/// The libp2p security upgrade; see the module documentation.
#[derive(Clone)]
pub struct Upgrade {
    shared: Arc<Shared>,
    key: identity::Keypair,
}

impl UpgradeInfo for Upgrade {
    type Info = &'static str;
    type InfoIter = std::iter::Once<Self::Info>;

    fn protocol_info(&self) -> Self::InfoIter {
        std::iter::once(PROTOCOL)
    }
}

impl Upgrade {
    /// Who the handshake authenticated: the peer id its certificate names, which must be the one the
    /// peer proved it holds the key of; and a flag that a later revocation sets.
    fn admit(&self, conn: &CommonState, proven: PeerId) -> Result<(PeerId, Arc<RevocationFlag>), P2pTlsError> {
        let verified = scf_gmtls::peer_identity(&self.shared.trust, conn)
            .ok_or_else(|| P2pTlsError::Certificate("no certificate from a trusted CA".into()))?;
        let peer = peer_id_in(&verified.certificate).map_err(P2pTlsError::Certificate)?;
        if peer != proven {
            return Err(P2pTlsError::Proof(format!(
                "{} names peer {peer}, but the peer holds the key of {proven}",
                verified.certificate.subject()
            )));
        }
        let flag = self.shared.live.register(verified.issuer, verified.certificate.serial());
        Ok((peer, flag))
    }
}

impl<C> InboundConnectionUpgrade<C> for Upgrade
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Output = (PeerId, Guarded<TlsStream<C>>);
    type Error = P2pTlsError;
    type Future = BoxFuture<'static, Result<Self::Output, Self::Error>>;

    fn upgrade_inbound(self, socket: C, _: Self::Info) -> Self::Future {
        async move {
            let mut stream = futures_rustls::TlsAcceptor::from(self.shared.server.clone())
                .accept(socket)
                .await
                .map_err(P2pTlsError::Handshake)?;
            let mine = proof_message(stream.get_ref().1, b"server")?;
            let theirs = proof_message(stream.get_ref().1, b"client")?;
            let proven = exchange_proofs(&mut stream, &self.key, &mine, &theirs).await?;
            let (peer, revoked) = self.admit(stream.get_ref().1, proven)?;
            Ok((peer, Guarded { inner: stream.into(), revoked }))
        }
        .boxed()
    }
}

impl<C> OutboundConnectionUpgrade<C> for Upgrade
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Output = (PeerId, Guarded<TlsStream<C>>);
    type Error = P2pTlsError;
    type Future = BoxFuture<'static, Result<Self::Output, Self::Error>>;

    fn upgrade_outbound(self, socket: C, _: Self::Info) -> Self::Future {
        async move {
            // The server is identified by its certificate; the name only fills the (unchecked) SNI slot.
            let name = ServerName::IpAddress(std::net::IpAddr::from([0u8, 0, 0, 0]).into());
            let mut stream = futures_rustls::TlsConnector::from(self.shared.client.clone())
                .connect(name, socket)
                .await
                .map_err(P2pTlsError::Handshake)?;
            let mine = proof_message(stream.get_ref().1, b"client")?;
            let theirs = proof_message(stream.get_ref().1, b"server")?;
            let proven = exchange_proofs(&mut stream, &self.key, &mine, &theirs).await?;
            let (peer, revoked) = self.admit(stream.get_ref().1, proven)?;
            Ok((peer, Guarded { inner: stream.into(), revoked }))
        }
        .boxed()
    }
}

/// A TLS stream that fails every read and write once its peer's certificate is revoked.
pub struct Guarded<S> {
    inner: S,
    revoked: Arc<RevocationFlag>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.revoked.check_read(cx.waker())?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.revoked.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.revoked.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
